#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for tlens and builds it. Idempotent: quick when already done.
#   scripts/setup.sh            # packages + .venv with the pinned torch + npm assets + build
# Environment: TLENS_BUILD_DIR (default build), TLENS_SKIP_APT=1 to skip the package step,
# TLENS_VENV (default .venv), TLENS_SKIP_BUILD=1 to stop before the build.
#
# libtorch is the one inside PyPI's torch wheel, pinned below (the library a user's
# `import torch` loads): .venv/lib/python3*/site-packages/torch/{include,lib}. The wheel is a CUDA
# build (~3 GB download, ~6 GB installed); it runs on machines without a GPU. pip's cache makes a
# second install quick.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build_dir=${TLENS_BUILD_DIR:-build}

torch_version=2.15.0  # PyPI's torch; bench/RESULTS.md and the issue 14 note say why this one
venv=${TLENS_VENV:-.venv}

# 1. System packages (Debian 12). Only calls apt when something is missing.
packages=(build-essential cmake ninja-build ccache pkg-config git libcli11-dev
          nlohmann-json3-dev libpcre2-dev libicu-dev libcurl4-openssl-dev libgtest-dev chromium)
# Tools that may come from elsewhere (a node or python of the image): only when absent.
# python3-venv: Debian's python3 makes no venv without it.
command -v python3 >/dev/null || packages+=(python3 python3-venv)
if [ "$(command -v python3 || true)" = /usr/bin/python3 ]; then packages+=(python3-venv); fi
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
scripts/install_packages.sh "${packages[@]}"

# 2. The project's virtual environment with the pinned torch (its libtorch is tlens's).
py=${TLENS_PYTHON3:-python3}
if ! "$venv/bin/python" -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$torch_version')" 2>/dev/null; then
  if ! command -v "$py" >/dev/null; then
    echo "setup: python3 is missing; install it (Debian: sudo apt-get install python3 python3-venv) and rerun scripts/setup.sh" >&2
    exit 1
  fi
  if [ ! -x "$venv/bin/pip" ] && ! "$py" -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    echo "setup: '$py -m venv $venv' failed: the venv module is missing (Debian: sudo apt-get install python3-venv); rerun scripts/setup.sh" >&2
    exit 1
  fi
  echo "setup: installing torch==$torch_version into $venv (from pip's cache when there; else ~3 GB from PyPI)"
  if ! "$venv/bin/pip" install --disable-pip-version-check --progress-bar off -q "torch==$torch_version"; then
    echo "setup: pip could not install torch==$torch_version from PyPI into $venv (no network to pypi.org, or no disk: it needs ~6 GB); fix that and rerun scripts/setup.sh" >&2
    exit 1
  fi
fi

# 3. npm assets (pinned in scripts/npm/package.json), installed into third_party/npm.
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

[ "${TLENS_SKIP_BUILD:-0}" = 1 ] && exit 0

# The Python package's build tools (pinned in pyproject.toml's build-system too): pybind11's CMake
# files for tlens._C, scikit-build-core for `pip install .` below; and numpy (torch warns at
# import without it).
python_build_deps=(scikit-build-core==1.1.2 pybind11==3.1.0 numpy==2.4.6)
if ! "$venv/bin/python" -c "import scikit_build_core, pybind11, numpy, sys; sys.exit(pybind11.__version__ != '3.1.0')" 2>/dev/null; then
  echo "setup: installing ${python_build_deps[*]} into $venv"
  "$venv/bin/pip" install --disable-pip-version-check --progress-bar off -q "${python_build_deps[@]}"
fi

# 4. Build (ccache keeps rebuilds quick; precompiled headers need this sloppiness).
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$root  # clones in other folders share the cache
jobs=$(nproc)
if [ ! -f "$build_dir/build.ninja" ] || ! grep -q '^TLENS_BUILD_PYTHON:BOOL=ON' "$build_dir/CMakeCache.txt"; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTLENS_BUILD_PYTHON=ON \
    -DTLENS_PYTHON="$root/$venv/bin/python" ${TLENS_CMAKE_ARGS:-} >/dev/null
fi
cmake --build "$build_dir" -j "$jobs"
echo "setup: built $root/$build_dir/tlens"

# 5. The Python package into the venv: `pip install .`, reusing this build folder (so it only
# packs what the build above made: tlens._C, libtlens, the CLI, the shipped model) and the venv's
# torch. Skipped when nothing changed since the last install.
stamp="$venv/.tlens-installed"
if [ "${TLENS_SKIP_PYTHON:-0}" != 1 ] && { [ ! -f "$stamp" ] ||
     [ -n "$(find python/tlens pyproject.toml "$build_dir/python" "$build_dir/libtlens.so"* "$build_dir/tlens" \
              -newer "$stamp" -print -quit 2>/dev/null)" ]; }; then
  echo "setup: pip install . (the Python package tlens) into $venv"
  "$venv/bin/pip" install --disable-pip-version-check --progress-bar off -q --no-build-isolation \
    --no-deps -C build-dir="$build_dir" -C cmake.define.TLENS_BUILD_TESTS=ON \
    -C cmake.define.TLENS_PYTHON="$root/$venv/bin/python" .
  touch "$stamp"
fi
