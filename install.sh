#!/usr/bin/env bash
# Install hoi-dap-cds into ./.venv. torch goes in first, pinned to the CPU build (2.13.0):
# a bare `torch` requirement would pull a multi-GB CUDA build.
#   bash install.sh          # the app
#   bash install.sh --dev    # + test tools
set -euo pipefail
cd "$(dirname "$0")"
extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".${extras}"
echo "Đã cài đặt / installed: .venv/bin/rag" >&2
