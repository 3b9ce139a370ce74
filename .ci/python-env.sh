#!/usr/bin/env bash
# Usage: source .ci/python-env.sh PKG...   — creates/reuses .venv and pip-installs PKG...
# Python peers (h5py, mrcfile, starfile, onnxruntime) are only needed by CI, never by `cargo test`.
set -euo pipefail
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check "$@"
export PY="$PWD/.venv/bin/python"
