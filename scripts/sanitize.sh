#!/usr/bin/env bash
# Builds tlens and its tests with AddressSanitizer + UndefinedBehaviorSanitizer (GCC, -O1 -g) into
# build-asan/ and runs ctest there. libtorch itself is not instrumented: ASan checks our code's
# memory accesses, and every allocation (libtorch's too) through its malloc.
#   scripts/sanitize.sh                       # everything, every test
#   TLENS_SANITIZE_TARGETS="bpe_test backend_test" scripts/sanitize.sh -E '_NOT_BUILT$'
#                                             # only those test binaries (ctest lists the
#                                             # others as NAME_NOT_BUILT)
# Arguments go to ctest. A sanitizer report fails the test that made it (halt_on_error and
# -fno-sanitize-recover), so the exit status is ctest's.
# Environment: TLENS_ASAN_DIR (default build-asan), TLENS_SKIP_APT=1 to skip the package step.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dir=${TLENS_ASAN_DIR:-build-asan}

# Same packages as the build (setup.sh installs them; here too when run alone).
scripts/install_packages.sh build-essential cmake ninja-build ccache pkg-config \
  nlohmann-json3-dev libpcre2-dev libicu-dev libcurl4-openssl-dev libgtest-dev

# The options every instrumented process gets, the test binaries included (gtest_discover_tests
# runs each one at build time to list its tests). Why each is there: tests/sanitizers/README.md.
export ASAN_OPTIONS="detect_leaks=1${TLENS_ASAN_EXTRA:+:$TLENS_ASAN_EXTRA}"
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/tests/sanitizers/ubsan.supp"
export OMP_WAIT_POLICY=PASSIVE

export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache} CCACHE_BASEDIR=$root
if [ ! -f "$dir/build.ninja" ]; then
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DTLENS_SANITIZE=ON >/dev/null
fi
# shellcheck disable=SC2086  # a list of targets
cmake --build "$dir" -j "$(nproc)" ${TLENS_SANITIZE_TARGETS:+--target $TLENS_SANITIZE_TARGETS}
cd "$dir"
ctest --output-on-failure -j "$(nproc)" --timeout 1800 "$@"
