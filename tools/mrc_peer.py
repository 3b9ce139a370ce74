#!/usr/bin/env python3
"""Peer check of misalign's MRC reader/writer against the `mrcfile` package.

Usage: mrc_peer.py MISALIGN_BIN MRC_COPY_BIN WORKDIR
       mrc_peer.py --make-fixtures tests/fixtures/mrc   (regenerates the Rust test fixtures)

1. mrcfile writes files in every mode (plus big-endian, extended-header and non-cubic
   voxel-size variants); `misalign info --json` must report the same dims, voxel size and
   statistics as numpy (float64).
2. Our writer (through the mrc_copy example) must produce files that `mrcfile.validate`
   accepts and whose values equal the source (float32) or its float16 rounding.
3. A truncated file must make `misalign info` fail for that file only.
Any mismatch raises, so the script exits non-zero.
"""
import io
import json
import subprocess
import sys
from pathlib import Path

import mrcfile
import numpy as np



def make_fixtures(folder):
    """Writes the small files of tests/fixtures/mrc/ (value = 100·z + 10·y + x on 4×3×2)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    nz, ny, nx = 2, 3, 4
    z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    v = 100 * z + 10 * y + x
    vs = (1.5, 2.5, 3.5)

    def w(name, data, big=False, ext=None):
        with mrcfile.new(folder / name, overwrite=True) as m:
            m.set_data(data.astype(data.dtype.newbyteorder(">")) if big else data)
            m.voxel_size = vs
            if ext is not None:
                m.header.exttyp = b"FEI1"
                m.set_extended_header(ext)
            m.update_header_stats()

    w("int8_le.mrc", v.astype(np.int8))
    w("int16_be.mrc", (v - 60).astype(np.int16), big=True)
    w("float32_be.mrc", (v * 0.25).astype(np.float32), big=True)
    w("uint16_ext.mrc", v.astype(np.uint16), ext=np.arange(128, dtype=np.uint8))
    w("float16_le.mrc", (v * 0.5).astype(np.float16))
    # Columns along Z, rows along X, sections along Y: MAPC/MAPR/MAPS = 3, 1, 2.
    with mrcfile.new(folder / "float32_mapc312.mrc", overwrite=True) as m:
        m.set_data(np.transpose(v, (1, 2, 0)).astype(np.float32))
        m.header.mapc, m.header.mapr, m.header.maps = 3, 1, 2
        m.header.mx, m.header.my, m.header.mz = nx, ny, nz
        m.header.cella = (nx * vs[0], ny * vs[1], nz * vs[2])
        m.update_header_stats()


if len(sys.argv) == 3 and sys.argv[1] == "--make-fixtures":
    make_fixtures(sys.argv[2])
    sys.exit(0)

misalign, mrc_copy, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
work.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(20141)
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("MISMATCH:", msg)


def make(name, data, voxel=(2.5, 2.5, 2.5), big=False, ext=None):
    path = work / name
    with mrcfile.new(path, overwrite=True) as m:
        m.set_data(data.astype(data.dtype.newbyteorder(">")) if big else data)
        m.voxel_size = voxel
        if ext is not None:
            m.header.exttyp = b"FEI1"
            m.set_extended_header(ext)
        m.update_header_stats()
    return path


shape = (7, 11, 13)  # numpy order (z, y, x)
cases = {
    "int8.mrc": (rng.integers(-128, 128, shape).astype(np.int8), {}),
    "int16.mrc": (rng.integers(-30000, 30000, shape).astype(np.int16), {}),
    "float32.mrc": (rng.normal(3.0, 2.0, shape).astype(np.float32), {"voxel": (1.5, 2.0, 3.25)}),
    "uint16.mrc": (rng.integers(0, 65535, shape).astype(np.uint16), {}),
    "float16.mrc": (rng.normal(0.0, 5.0, shape).astype(np.float16), {}),
    "float32_big.mrc": (rng.normal(-1.0, 1.0, shape).astype(np.float32), {"big": True}),
    "int16_big.mrc": (rng.integers(-500, 500, shape).astype(np.int16), {"big": True}),
    "float32_ext.mrc": (
        rng.normal(0.0, 1.0, shape).astype(np.float32),
        {"ext": np.arange(256, dtype=np.uint8)},
    ),
}
paths = []
for name, (data, kw) in cases.items():
    p = make(name, data, **kw)
    paths.append(p)
    with mrcfile.open(p, permissive=False) as m:
        if kw.get("big"):
            check(m.header.mode.dtype.byteorder == ">", f"{name}: mrcfile did not write big-endian")
        if "ext" in kw:
            check(int(m.header.nsymbt) == 256, f"{name}: extended header not written")

out = subprocess.run([misalign, "info", "--json", *map(str, paths)], capture_output=True, text=True)
check(out.returncode == 0, f"misalign info failed: {out.stderr}")
rows = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
check(len(rows) == len(paths), f"expected {len(paths)} JSON lines, got {len(rows)}")
for (name, (data, kw)), row in zip(cases.items(), rows):
    d = data.astype(np.float64)
    want_vs = kw.get("voxel", (2.5, 2.5, 2.5))
    check([row["nx"], row["ny"], row["nz"]] == [shape[2], shape[1], shape[0]], f"{name}: dims {row}")
    check(row["mode"] == {"int8": 0, "int16": 1, "float32": 2, "uint16": 6, "float16": 12}[str(data.dtype)],
          f"{name}: mode {row['mode']}")
    check(np.allclose(row["voxel_size"], want_vs, rtol=1e-6), f"{name}: voxel size {row['voxel_size']} != {want_vs}")
    check(row["byte_order"] == ("big" if kw.get("big") else "little"), f"{name}: byte order {row['byte_order']}")
    check(row["ext_header_len"] == (256 if "ext" in kw else 0), f"{name}: ext header {row['ext_header_len']}")
    for key, ref in (("min", d.min()), ("max", d.max()), ("mean", d.mean()), ("sd", d.std())):
        check(abs(row[key] - ref) <= 1e-9 * max(1.0, abs(ref)), f"{name}: {key} {row[key]} != numpy {ref}")
print(f"info --json agrees with numpy on {len(rows)} files")

# Our writer, validated by mrcfile.
src = work / "float32.mrc"
with mrcfile.open(src) as m:
    ref = m.data.copy()
for mode, dtype in (("float32", np.float32), ("float16", np.float16)):
    dst = work / f"ours_{mode}.mrc"
    r = subprocess.run([mrc_copy, str(src), str(dst), mode], capture_output=True, text=True)
    check(r.returncode == 0, f"mrc_copy {mode}: {r.stderr}")
    log = io.StringIO()
    ok = mrcfile.validate(str(dst), print_file=log)
    check(ok, f"mrcfile.validate rejected our {mode} file: {log.getvalue()}")
    with mrcfile.open(dst, permissive=False) as m:
        check(m.data.dtype == np.dtype(dtype), f"{mode}: dtype {m.data.dtype}")
        check(np.array_equal(m.data, ref.astype(dtype)), f"{mode}: values differ after round trip")
        vs = m.voxel_size
        check(np.allclose([vs.x, vs.y, vs.z], (1.5, 2.0, 3.25)), f"{mode}: voxel size {vs}")
print("our float32/float16 files pass mrcfile.validate and round-trip")

# Big-endian and ext-header inputs survive our copy too.
for name in ("float32_big.mrc", "float32_ext.mrc", "int16_big.mrc", "uint16.mrc", "int8.mrc", "float16.mrc"):
    dst = work / f"copy_{name}"
    r = subprocess.run([mrc_copy, str(work / name), str(dst)], capture_output=True, text=True)
    check(r.returncode == 0, f"mrc_copy {name}: {r.stderr}")
    with mrcfile.open(work / name) as a, mrcfile.open(dst) as b:
        check(np.array_equal(a.data.astype(np.float32), b.data), f"{name}: copy differs")

# A broken file fails alone.
good = work / "int16.mrc"
bad = work / "truncated.mrc"
bad.write_bytes(good.read_bytes()[:-10])
r = subprocess.run([misalign, "info", "--json", str(bad), str(good)], capture_output=True, text=True)
check(r.returncode != 0, "info on a truncated file must fail")
check("truncated.mrc" in r.stderr, f"error must name the file: {r.stderr}")
check(len([l for l in r.stdout.splitlines() if l.strip()]) == 1, "the good file must still be reported")

if failures:
    print(f"FAIL: {len(failures)} mismatches")
    sys.exit(1)
print("mrc peer check passed")
