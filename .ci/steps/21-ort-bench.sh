#!/usr/bin/env bash
# Optional speed comparison with ONNX Runtime (informational; never fails CI).
set -uo pipefail
if ! (source .ci/python-env.sh numpy onnxruntime) >/dev/null 2>&1; then
  echo "onnxruntime unavailable: skipping the speed comparison"; exit 0
fi
PY="$PWD/.venv/bin/python"
"$PY" tools/ort_bench.py tests/fixtures/onnx/model.onnx 30 || echo "ort_bench failed (ignored)"
timeout 120 cargo bench --bench network -- --warm-up-time 1 --measurement-time 2 2>/dev/null \
  | grep -E '^network/' || echo "cargo bench failed (ignored)"
exit 0
