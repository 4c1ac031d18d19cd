#!/usr/bin/env bash
# Compiles (syntax and types, no code generation, no link) every libtorch-using source of tlens
# against a libtorch 2.x's headers, so API drift past Debian's 1.13 shows up here. PyPI's torch
# wheel carries those headers, but its CMake config needs CUDA, so this calls g++ directly.
#   scripts/check_libtorch2.sh [TORCH_DIR]
# TORCH_DIR: a directory with include/torch (default: the oracle venv's torch package, from
# scripts/oracle/make_venv.sh). Needs a configured build/ (for build/tests/fixture_paths.h).
set -euo pipefail
cd "$(dirname "$0")/.."
torch_dir=${1:-$(ls -d .venv-oracle/lib/python3*/site-packages/torch 2>/dev/null | head -1)}
if [ -z "$torch_dir" ] || [ ! -d "$torch_dir/include/torch" ]; then
  echo "check_libtorch2: no libtorch headers at '${torch_dir}' (pass a libtorch dir, or run scripts/oracle/make_venv.sh)" >&2
  exit 2
fi
version_h="$torch_dir/include/torch/csrc/api/include/torch/version.h"
version=$(awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH)/ {v = v (v ? "." : "") $3} END {print v}' "$version_h" 2>/dev/null || true)
echo "check_libtorch2: headers of $torch_dir (libtorch ${version:-of unknown version})"
files=$(grep -rl --include=*.cpp -e 'torch/' -e 'ATen/' -e 'c10/' src examples tests bench/gemm_paths.cpp | sort)
export torch_dir
check() {
  local log; log=$(mktemp)
  if ! g++ -std=c++17 -fsyntax-only -fopenmp -Iinclude -Ibuild/tests -Iexamples \
      -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include" "$1" 2> "$log"; then
    echo "FAIL $1"; head -20 "$log"
  fi
  rm -f "$log"
}
export -f check
out=$(echo "$files" | xargs -P"$(nproc)" -n1 bash -c 'check "$0"')
echo "$out"
failed=$(echo "$out" | grep -c '^FAIL' || true)
echo "check_libtorch2: $(echo "$files" | wc -w) files, $failed failed"
[ "$failed" -eq 0 ]
