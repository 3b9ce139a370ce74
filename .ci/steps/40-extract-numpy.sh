#!/usr/bin/env bash
# Cross-checks the cube resampler (symmetric and Xmipp V1 modes) against numpy.fft.
set -euo pipefail
source .ci/python-env.sh numpy
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
MISALIGN_PEER_DIR="$out" cargo test --test extract_numpy_peer -- --ignored --quiet
"$PY" tests/peers/extract_numpy.py "$out"
