#!/usr/bin/env bash
# Installs the Debian packages given that are not installed yet; quick when all are there.
#   scripts/install_packages.sh clang-14 libfuzzer-14-dev
# Used by setup.sh (the build), fuzz.sh and sanitize.sh. TLENS_SKIP_APT=1 skips it.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${TLENS_SKIP_APT:-0}" != 1 ] && [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
