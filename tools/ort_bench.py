#!/usr/bin/env python3
"""Time ONNX Runtime on tests/fixtures/onnx/model.onnx: one thread, batch 1, ms per cube.

Usage: ort_bench.py [MODEL.onnx] [REPS] [ROUNDS]   (needs numpy and onnxruntime)
Prints one line "onnxruntime X batch 1, 1 thread: Y ms/cube": the best of ROUNDS (30) rounds of
REPS (10) calls each, the statistic `cargo bench --bench network` reports for misalign. For a
same-run ratio use tools/bench_vs_ort.py, which alternates the two.
"""
import os
import sys
import time

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = os.path.join(HERE, "..", "tests", "fixtures", "onnx", "model.onnx")


def time_ort(model=DEFAULT_MODEL, reps=10, rounds=30):
    """Seconds per cube: best of `rounds` rounds of `reps` single-thread batch-1 calls."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    rng = np.random.default_rng(1)
    cubes = rng.standard_normal((8, 1, 32, 32, 32, 1), dtype=np.float32)
    for c in cubes:  # warm-up
        sess.run(None, {name: c})
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for r in range(reps):
            sess.run(None, {name: cubes[r % len(cubes)]})
        best = min(best, (time.perf_counter() - t) / reps)
    return best


def main(argv):
    model = argv[1] if len(argv) > 1 else DEFAULT_MODEL
    reps = int(argv[2]) if len(argv) > 2 else 10
    rounds = int(argv[3]) if len(argv) > 3 else 30
    best = time_ort(model, reps, rounds)
    print(f"onnxruntime {ort.__version__} batch 1, 1 thread: {best * 1e3:.3f} ms/cube")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
