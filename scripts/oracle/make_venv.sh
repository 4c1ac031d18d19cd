#!/usr/bin/env bash
# Creates (idempotently) the Python oracle venv at <repo>/.venv-oracle and installs
# scripts/oracle/requirements.txt into it. Quick no-op when already up to date.
#   scripts/oracle/make_venv.sh
# Environment: PYTHON (interpreter used to create the venv; default python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.venv-oracle
req=scripts/oracle/requirements.txt
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
if [ ! -x "$venv/bin/python" ]; then
  echo "make_venv: creating $venv"
  "${PYTHON:-python3}" -m venv "$venv"
fi
stamp="$venv/.requirements.installed"
if [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
  echo "make_venv: $venv up to date"
  exit 0
fi
echo "make_venv: installing $req into $venv (first time downloads torch; takes a while)"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$req"
"$venv/bin/python" -c "import torch, transformers, transformer_lens, safetensors; print('make_venv: torch', torch.__version__, 'transformers', transformers.__version__)"
cp "$req" "$stamp"
echo "make_venv: done"
