#!/usr/bin/env bash
# Optional speed comparison with ONNX Runtime (informational; never fails CI).
# Set MISALIGN_BENCH=1 to also build and run our benchmark right after, for a same-run ratio.
set -uo pipefail
if ! (source .ci/python-env.sh numpy onnxruntime) >/dev/null 2>&1; then
  echo "onnxruntime unavailable: skipping the speed comparison"; exit 0
fi
PY="$PWD/.venv/bin/python"
"$PY" tools/ort_bench.py tests/fixtures/onnx/model.onnx 30 || echo "ort_bench failed (ignored)"
if [ "${MISALIGN_BENCH:-0}" = 1 ]; then
  timeout 900 cargo bench --bench network -- --warm-up-time 1 --measurement-time 2 2>/dev/null \
    | grep -E '^network/' || echo "cargo bench failed (ignored)"
else
  echo "(set MISALIGN_BENCH=1 to time misalign in the same run: cargo bench --bench network)"
fi
exit 0
