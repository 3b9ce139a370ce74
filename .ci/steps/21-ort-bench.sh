#!/usr/bin/env bash
# Optional speed comparison with ONNX Runtime (informational; never fails CI).
# Alternates our benchmark with ORT for a same-run ratio; MISALIGN_BENCH=0 times ORT alone.
set -uo pipefail
if ! (source .ci/python-env.sh numpy onnxruntime) >/dev/null 2>&1; then
  echo "onnxruntime unavailable: skipping the speed comparison"; exit 0
fi
PY="$PWD/.venv/bin/python"
if [ "${MISALIGN_BENCH:-1}" = 1 ]; then
  timeout 400 "$PY" tools/bench_vs_ort.py 3 || echo "bench_vs_ort failed (ignored)"
else
  "$PY" tools/ort_bench.py || echo "ort_bench failed (ignored)"
fi
exit 0
