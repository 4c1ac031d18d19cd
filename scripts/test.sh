#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: the libFuzzer targets briefly, the tests of the
# libraries without libtorch under ASan + UBSan, the Python package's tests (pytest), then the
# whole C++ suite with ctest (last, so its "N tests passed" line closes the log). Exit status is
# non-zero if any of the four fails.
#   TLENS_FUZZ_SECONDS (default 30): seconds per fuzz target; 0 skips fuzzing.
#   TLENS_SANITIZE_CI=0 skips the sanitizer run; TLENS_SKIP_PYTHON=1 the Python package and its tests.
# The sanitizer run covers only the libraries without libtorch (tlens_io, tlens_config,
# tlens_tokenizer, tlens_vis: safetensors_test, model_resolver_test, config_test,
# hf_gpt2_config_test, bpe_test, vis_test): an ASan build of the libtorch-including sources takes
# longer than CI allows on 2 cores. scripts/sanitize.sh with no arguments runs everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE
failed=()

fuzz_seconds=${TLENS_FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" != 0 ]; then
  TLENS_FUZZ_JOBS=${TLENS_FUZZ_JOBS:-$(nproc)} scripts/fuzz.sh "$fuzz_seconds" || failed+=(fuzz)
fi

if [ "${TLENS_SANITIZE_CI:-1}" != 0 ]; then
  # Only these binaries are built; ctest lists the others as <name>_NOT_BUILT. The install and
  # set-up tests (shell scripts) need the whole build: they run in the ctest below.
  TLENS_SANITIZE_TARGETS="safetensors_test model_resolver_test config_test hf_gpt2_config_test
                          bpe_test vis_test" scripts/sanitize.sh -E '_NOT_BUILT$|^install_consumer$|^setup_errors$' ||
    failed+=(sanitizers)
fi

# The Python package (installed into the venv by setup.sh): pytest over python/tests, the seed
# notebook (executed, then opened in headless Chromium) included. It imports the installed tlens.
venv=${TLENS_VENV:-.venv}
if [ "${TLENS_SKIP_PYTHON:-0}" != 1 ]; then
  "$venv/bin/pip" install --disable-pip-version-check --progress-bar off -q -r python/requirements-test.txt &&
    "$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests || failed+=(pytest)
fi

(cd "${TLENS_BUILD_DIR:-build}" && ctest --output-on-failure -j "$(nproc)" --timeout 900) ||
  failed+=(ctest)

if [ ${#failed[@]} -gt 0 ]; then
  echo "test.sh: failed: ${failed[*]}"
  exit 1
fi
