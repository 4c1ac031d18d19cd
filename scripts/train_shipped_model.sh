#!/usr/bin/env bash
# Retrains the shipped model, models/tlens-induction-2l, with `tlens train`: one command, fixed
# seed, public-domain text from Debian packages. About 20 minutes on 2 CPU cores.
#   scripts/train_shipped_model.sh [OUT_DIR]      # default: models/tlens-induction-2l
# Environment: TLENS (the tlens binary, default build/tlens), TLENS_THREADS (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
tlens=${TLENS:-build/tlens}
out=${1:-models/tlens-induction-2l}

# Corpus: the King James Version of the Bible (public domain), Debian's bible-kjv-text, printed
# with its reader bible-kjv; the verse references ("Ge1:1 ") are stripped.
if ! command -v bible >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends bible-kjv bible-kjv-text >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bible -f "Gen1:1-Rev22:21" </dev/null | sed -E 's/^[0-9]?[A-Za-z]+[0-9]+:[0-9]+ //' >"$work/kjv.txt"

# The model keeps its recipe; the retrained folder replaces the old one only when complete.
recipe=""
[ -f "$out/RECIPE.md" ] && recipe=$(cat "$out/RECIPE.md")
rm -rf "$work/model"
"$tlens" train --out "$work/model" --corpus "$work/kjv.txt" \
  --n-layers 2 --d-model 128 --n-heads 4 --d-mlp 256 --n-ctx 256 --act-fn gelu_new \
  --vocab-merges 2048 --steps 1200 --batch 12 --lr 2e-3 --warmup 100 --weight-decay 0.01 \
  --clip 1.0 --seed 1234 --eval-every 100 --heldout-fraction 0.02 --synthetic-fraction 0.3 \
  ${TLENS_THREADS:+--threads $TLENS_THREADS}
# A shipped model does not resume: drop AdamW's state (twice the weights' size).
rm -f "$work/model/optimizer.pt"
[ -n "$recipe" ] && printf '%s\n' "$recipe" >"$work/model/RECIPE.md"
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -r "$work/model" "$out"
"$tlens" eval --model "$out"
