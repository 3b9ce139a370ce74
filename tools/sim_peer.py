#!/usr/bin/env python3
"""Peer check of `misalign simulate`: the tomogram is read with mrcfile (not our reader) and the
truth JSON with the standard library; every bead inside the volume must be dark at its listed
centre (aligned run) and the header must carry the requested sampling.

Usage: sim_peer.py MISALIGN_BIN WORKDIR
"""
import json
import os
import subprocess
import sys

import mrcfile
import numpy as np


def main():
    exe, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    mrc, truth = os.path.join(work, "sim.mrc"), os.path.join(work, "sim.json")
    subprocess.run([exe, "simulate", "-o", mrc, "--truth", truth, "--dims", "128,96,48",
                    "--sampling", "15", "--beads", "6", "--seed", "11", "--threads", "2"],
                   check=True)
    with mrcfile.open(mrc, permissive=False) as m:
        vol = np.asarray(m.data, dtype=np.float64)  # (z, y, x)
        assert vol.shape == (48, 96, 128), vol.shape
        assert abs(float(m.voxel_size.x) - 15.0) < 1e-4, m.voxel_size
    t = json.load(open(truth))
    assert t["label"] == "aligned" and t["kinds"] == ["none"], (t["label"], t["kinds"])
    sd = vol.std()
    inside = [b for b in t["beads"] if b["inside"]]
    assert len(inside) >= 6, len(inside)
    for b in inside:
        x, y, z = (int(round(b[k])) for k in ("x", "y", "z"))
        box = vol[max(z - 1, 0):z + 2, max(y - 1, 0):y + 2, max(x - 1, 0):x + 2]
        assert box.min() < -2.0 * sd, (b, box.min(), sd)
    print(f"sim peer: {len(inside)} beads dark at their truth centres (mrcfile)")


if __name__ == "__main__":
    main()
