#!/usr/bin/env bash
# scripts/setup.sh and the CMake configure stop with one line that says what is missing and how
# to get it: no python3, no venv module, a torch that cannot be downloaded, a libtorch older
# than 2.x. Nothing here touches the real .venv or build/.
# Also the other way in: a libtorch folder given as -DCMAKE_PREFIX_PATH (the layout of an official
# libtorch download, here the wheel's torch folder the build used) is found without any Python.
#   tests/install/setup_errors_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TLENS_SKIP_APT=1 TLENS_SKIP_BUILD=1 TLENS_VENV="$work/venv"
failures=0
# expect NAME EXPECTED-TEXT COMMAND...: the command fails and its last stderr line has the text.
expect() {
  local name=$1 text=$2; shift 2
  "$@" >"$work/out" 2>"$work/err"
  local rc=$? last
  last=$(tail -n 1 "$work/err")
  if [ $rc -eq 0 ] || [[ "$last" != *"$text"* ]]; then
    echo "FAIL $name: exit $rc, last line: $last"; failures=$((failures + 1))
  else
    echo "ok   $name: $last"
  fi
}

expect "no python3" "python3 is missing; install it (Debian: sudo apt-get install python3 python3-venv)" \
  env TLENS_PYTHON3=/nonexistent/python3 "$src/scripts/setup.sh"

printf '#!/bin/sh\necho "No module named venv" >&2\nexit 1\n' > "$work/python-without-venv"
chmod +x "$work/python-without-venv"
expect "no venv module" "the venv module is missing (Debian: sudo apt-get install python3-venv)" \
  env TLENS_PYTHON3="$work/python-without-venv" "$src/scripts/setup.sh"

# An index nobody answers: pip fails at once (no retries), as without network.
expect "torch download fails" "pip could not install torch==" \
  env PIP_INDEX_URL=http://127.0.0.1:9/simple PIP_FIND_LINKS= PIP_RETRIES=0 PIP_TIMEOUT=2 \
  "$src/scripts/setup.sh"

# A libtorch 1.x folder: the configure stops naming the version and what to do.
fake=$work/libtorch-1.13
mkdir -p "$fake/include/torch/csrc/api/include/torch" "$fake/lib"
printf '#define TORCH_VERSION_MAJOR 1\n#define TORCH_VERSION_MINOR 13\n#define TORCH_VERSION_PATCH 1\n' \
  > "$fake/include/torch/csrc/api/include/torch/version.h"
if cmake -S "$src" -B "$work/build" -G Ninja -DTLENS_TORCH_ROOT="$fake" >"$work/out" 2>&1; then
  echo "FAIL libtorch 1.13: configure succeeded"; failures=$((failures + 1))
elif ! tr '\n' ' ' < "$work/out" | tr -s ' ' | grep -q "libtorch 1.13.1 at $fake is older than 2.0; tlens needs libtorch 2.x"; then
  echo "FAIL libtorch 1.13: $(cat "$work/out")"; failures=$((failures + 1))
else
  echo "ok   libtorch 1.13: refused"
fi
torch_root=$(sed -n 's/^TLENS_TORCH_ROOT:PATH=//p' "$build/CMakeCache.txt")
if ! cmake -S "$src" -B "$work/build-prefix" -G Ninja -DTLENS_PYTHON=/nonexistent/python \
    -DCMAKE_PREFIX_PATH="$torch_root" -DTLENS_BUILD_TESTS=OFF >"$work/out" 2>&1 ||
   ! grep -q "tlens: libtorch 2\.[0-9.]* at $torch_root\$" "$work/out"; then
  echo "FAIL libtorch via CMAKE_PREFIX_PATH=$torch_root: $(tail -5 "$work/out")"; failures=$((failures + 1))
else
  echo "ok   libtorch via CMAKE_PREFIX_PATH: $(grep 'tlens: libtorch' "$work/out")"
fi
exit $failures
