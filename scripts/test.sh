#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test with ctest. Exit status is ctest's.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE
cd "${TLENS_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 900
