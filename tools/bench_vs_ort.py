#!/usr/bin/env python3
"""Same-run speed comparison of misalign's forward pass with ONNX Runtime.

Usage: bench_vs_ort.py [ROUNDS]   (needs numpy and onnxruntime; run from anywhere)

Builds `cargo bench --bench network`, then alternates ROUNDS (default 3) times between our
benchmark's summary (batch 1, one thread, best kernels; and the 2-thread throughput ratio) and
ONNX Runtime on the same model, so both see the same machine load. Prints every round and the
ratio of the best times (ORT ms / misalign ms; > 1 means misalign is faster).
"""
import json
import os
import re
import subprocess
import sys

from ort_bench import DEFAULT_MODEL, time_ort, ort

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def bench_executable():
    out = subprocess.run(
        ["cargo", "bench", "--bench", "network", "--no-run", "--message-format=json"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "network" \
                and msg.get("executable"):
            return msg["executable"]
    sys.exit("bench_vs_ort: cargo did not report the network bench executable")


def run_ours(exe):
    env = dict(os.environ, MISALIGN_BENCH_SUMMARY_ONLY="1")
    out = subprocess.run([exe, "--bench"], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    single = re.search(r"network/(\S+)\s+batch 1, 1 thread: ([0-9.]+) ms/cube", out.split(
        "network/scalar")[-1])
    ratio = re.search(r"2-thread throughput ratio: ([0-9.]+)x", out)
    if not single or not ratio:
        sys.exit("bench_vs_ort: unexpected benchmark output:\n" + out)
    return single.group(1), float(single.group(2)) / 1e3, float(ratio.group(1))


def main(argv):
    rounds = int(argv[1]) if len(argv) > 1 else 3
    exe = bench_executable()
    ours, theirs, scaling = [], [], []
    for k in range(rounds):
        backend, t, s = run_ours(exe)
        o = time_ort(DEFAULT_MODEL)
        ours.append(t)
        theirs.append(o)
        scaling.append(s)
        print(f"round {k + 1}: misalign ({backend}) {t * 1e3:.3f} ms/cube, "
              f"onnxruntime {ort.__version__} {o * 1e3:.3f} ms/cube, ratio {o / t:.2f}x, "
              f"misalign 2-thread throughput {s:.2f}x")
    flop = 106.2e6
    best, best_ort = min(ours), min(theirs)
    print(f"best: misalign {best * 1e3:.3f} ms/cube ({flop / best / 1e9:.1f} GFLOP/s), "
          f"onnxruntime {best_ort * 1e3:.3f} ms/cube ({flop / best_ort / 1e9:.1f} GFLOP/s): "
          f"misalign is {best_ort / best:.2f}x ONNX Runtime; "
          f"2-thread throughput {max(scaling):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
