#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the main job: the seed notebook's walkthrough, `tlens demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE
exec "${TLENS_BUILD_DIR:-build}/tlens" demo "$@"
