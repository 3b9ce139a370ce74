#!/usr/bin/env python3
"""Peer check of misalign's RELION STAR coordinates against the `starfile` package.

Usage: star_peer.py COORDS_CONVERT_BIN WORKDIR

1. starfile writes pixel and centred-Å particle files; our reader (converting to CSV) must give
   the same internal coordinates (centred: x = X_Å / sampling + n / 2).
2. Our STAR writer (pixels and centred Å) must be read by starfile with equal values.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import starfile

conv, work = sys.argv[1], Path(sys.argv[2])
work.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(5)
dims, sampling = (512, 480, 200), 13.7
pts = rng.uniform(0, 1, (25, 3)) * np.array(dims)
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("MISMATCH:", msg)


def run(*args):
    r = subprocess.run([conv, *map(str, args)], capture_output=True, text=True)
    check(r.returncode == 0, f"coords_convert {args}: {r.stderr}")


ctx = ["--dims", ",".join(map(str, dims)), "--sampling", str(sampling)]

# starfile -> ours (pixels, with an optics block first).
px = pd.DataFrame({"rlnCoordinateX": pts[:, 0], "rlnCoordinateY": pts[:, 1], "rlnCoordinateZ": pts[:, 2],
                   "rlnMicrographName": ["tomo.mrc"] * len(pts)})
optics = pd.DataFrame({"rlnOpticsGroup": [1], "rlnImagePixelSize": [sampling]})
starfile.write({"optics": optics, "particles": px}, work / "px.star", overwrite=True)
run(work / "px.star", work / "px.csv")
got = pd.read_csv(work / "px.csv")[["x", "y", "z"]].to_numpy()
# starfile writes 6 decimals.
check(np.allclose(got, pts, rtol=0, atol=1e-6), "pixel STAR written by starfile read differently")

# starfile -> ours (centred Å, RELION 5).
centre = np.array(dims) / 2.0
ang = (pts - centre) * sampling
cen = pd.DataFrame({"rlnTomoName": ["TS_01"] * len(pts), "rlnCenteredCoordinateXAngst": ang[:, 0],
                    "rlnCenteredCoordinateYAngst": ang[:, 1], "rlnCenteredCoordinateZAngst": ang[:, 2]})
starfile.write({"particles": cen}, work / "cen.star", overwrite=True)
run(work / "cen.star", work / "cen.csv", *ctx)
got = pd.read_csv(work / "cen.csv")[["x", "y", "z"]].to_numpy()
check(np.allclose(got, pts, rtol=0, atol=1e-6), f"centred STAR converted differently: max err {np.abs(got - pts).max()}")

# ours -> starfile.
pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1], "z": pts[:, 2]}).to_csv(work / "src.csv", index=False, float_format="%.17g")
run(work / "src.csv", work / "ours_px.star")
df = starfile.read(work / "ours_px.star")
check(np.allclose(df[["rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"]].to_numpy(), pts, rtol=0, atol=1e-9),
      "starfile reads our pixel STAR differently")
run(work / "src.csv", work / "ours_cen.star", "--out-format", "star-angst", *ctx)
df = starfile.read(work / "ours_cen.star")
cols = ["rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst", "rlnCenteredCoordinateZAngst"]
check(np.allclose(df[cols].to_numpy(), ang, rtol=0, atol=1e-6), "starfile reads our centred STAR differently")

if failures:
    print(f"FAIL: {len(failures)} mismatches")
    sys.exit(1)
print("star peer check passed")
