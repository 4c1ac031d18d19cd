#!/usr/bin/env bash
# Creates (idempotently) .venv-bench: TransformerLens 2.18 and plain PyTorch on the torch that tlens
# links (bench/requirements.txt pins the same torch==2.15.0 as scripts/setup.sh).
#   bench/make_venv.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-bench
req=bench/requirements.txt
want=$(sed -n 's/^torch==//p' "$req")
have=$(sed -n 's/^torch_version=\([0-9.]*\).*/\1/p' scripts/setup.sh)
if [ "$want" != "$have" ]; then
  echo "bench/make_venv: $req pins torch $want but scripts/setup.sh pins $have; make them equal" >&2
  exit 1
fi
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
stamp="$venv/.requirements.installed"
if [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
  echo "bench/make_venv: $venv up to date"
  exit 0
fi
echo "bench/make_venv: installing $req into $venv"
"$venv/bin/python" -m pip install --quiet -r "$req"
"$venv/bin/python" -c "import torch, transformer_lens; print('bench/make_venv: torch', torch.__version__)"
cp "$req" "$stamp"
