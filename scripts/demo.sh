#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the main job: the seed notebook's walkthrough, `tlens demo`,
# then the one-line check of the Python package (`import tlens`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE
"${TLENS_BUILD_DIR:-build}/tlens" demo "$@"
# The same library from Python (setup.sh pip-installed the package into the venv).
echo
echo '>>> import tlens; m = tlens.HookedTransformer.from_pretrained("tlens-induction-2l"); print(m.to_str_tokens("Hello"))'
"${TLENS_VENV:-.venv}/bin/python" -c 'import tlens; m = tlens.HookedTransformer.from_pretrained("tlens-induction-2l"); print(m.to_str_tokens("Hello"))' 
