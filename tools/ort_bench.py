#!/usr/bin/env python3
"""Time ONNX Runtime on tests/fixtures/onnx/model.onnx: one thread, batch 1, ms per cube.

Usage: ort_bench.py [MODEL.onnx] [REPS]   (needs numpy and onnxruntime)
Prints one line "onnxruntime batch 1, 1 thread: X ms/cube" (best of 5 rounds of REPS calls), so
it can be compared with `cargo bench --bench network` run right before or after on the same
machine.
"""
import os
import sys
import time

import numpy as np
import onnxruntime as ort


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    model = argv[1] if len(argv) > 1 else os.path.join(here, "..", "tests", "fixtures", "onnx", "model.onnx")
    reps = int(argv[2]) if len(argv) > 2 else 50
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
    for _ in range(5):
        t = time.perf_counter()
        for r in range(reps):
            sess.run(None, {name: cubes[r % len(cubes)]})
        best = min(best, (time.perf_counter() - t) / reps)
    print(f"onnxruntime {ort.__version__} batch 1, 1 thread: {best * 1e3:.3f} ms/cube")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
