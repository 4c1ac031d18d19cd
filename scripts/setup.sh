#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for tlens and builds it. Idempotent: quick when already done.
#   scripts/setup.sh            # packages + npm assets + build (Release) into build/
# Environment: TLENS_BUILD_DIR (default build), TLENS_SKIP_APT=1 to skip the package step.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build_dir=${TLENS_BUILD_DIR:-build}

# 1. System packages (Debian 12). Only calls apt when something is missing.
# libopenblas0-openmp: libtorch's BLAS (Debian's default is the slow reference BLAS), on the same
# OpenMP thread pool as libtorch so the two do not spin against each other.
packages=(build-essential cmake ninja-build ccache pkg-config git
          libtorch-dev libopenblas0-openmp nlohmann-json3-dev libpcre2-dev libcurl4-openssl-dev
          libgtest-dev chromium)
# Tools that may come from elsewhere (a node or python of the image): only when absent.
command -v python3 >/dev/null || packages+=(python3)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
scripts/install_packages.sh "${packages[@]}"

# 2. npm assets (pinned in scripts/npm/package.json), installed into third_party/npm.
if [ -f scripts/npm/package.json ]; then
  if [ ! -f third_party/npm/.installed ] || ! cmp -s scripts/npm/package.json third_party/npm/package.json; then
    echo "setup: installing npm assets"
    mkdir -p third_party/npm
    cp scripts/npm/package.json third_party/npm/package.json
    [ -f scripts/npm/package-lock.json ] && cp scripts/npm/package-lock.json third_party/npm/
    (cd third_party/npm && npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error)
    touch third_party/npm/.installed
  fi
fi
[ -x scripts/install_assets.sh ] && scripts/install_assets.sh

# 3. Build (ccache keeps rebuilds quick; precompiled headers need this sloppiness).
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$root  # clones in other folders share the cache
jobs=$(nproc)
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${TLENS_CMAKE_ARGS:-} >/dev/null
fi
cmake --build "$build_dir" -j "$jobs"
echo "setup: built $root/$build_dir/tlens"
