"""Cross-checks our Fourier resampler against numpy.fft (a third-party FFT).

Reads the files written by `cargo test --test extract_numpy_peer -- --ignored` from the folder
given as argv[1] and recomputes every cube with numpy:
- symmetric crop/pad: fftn, explicit bin moves (Nyquist split, +16 and -16 both to bin 16),
  optional phase ramp, ifftn, real part;
- V1: rfftn / B^3, the spec's half-spectrum copy, irfftn unscaled (numpy's irfftn takes the
  complex inverse over z and y, then the real inverse over x, dropping the imaginary parts of
  the DC and Nyquist terms, as FFTW does).
Exits non-zero on any deviation above 1e-4.
"""
import sys
from pathlib import Path

import numpy as np

D = Path(sys.argv[1])
N = 32
TOL = 1e-4


def load(name, edge):
    return np.fromfile(D / name, dtype="<f4").astype(np.float64).reshape(edge, edge, edge)


def targets(k, b):
    """(output bin, weight, signed frequency) for input bin k of an axis of length b."""
    if b % 2 == 0 and k == b // 2:
        m = b // 2
        if m > N // 2:
            return []
        return [(m % N, 0.5, m), ((N - m) % N, 0.5, -m)]
    f = k if k <= b // 2 else k - b
    if abs(f) > N // 2:
        return []
    return [(f % N, 1.0, f)]


def axis_matrix(b, shift):
    """Complex N x b matrix moving the bins of one axis (with the phase ramp)."""
    m = np.zeros((N, b), dtype=complex)
    for k in range(b):
        for o, w, f in targets(k, b):
            m[o, k] += w * np.exp(2j * np.pi * f * shift / b)
    return m


def symmetric(block, shift=(0.0, 0.0, 0.0)):
    b = block.shape[0]
    f = np.fft.fftn(block)  # axes (z, y, x)
    mz, my, mx = axis_matrix(b, shift[2]), axis_matrix(b, shift[1]), axis_matrix(b, shift[0])
    g = np.einsum("ak,bl,cm,klm->abc", mz, my, mx, f, optimize=True)
    out = np.fft.ifftn(g) * N**3 / b**3
    assert np.abs(out.imag).max() < 1e-9, "reference spectrum not Hermitian"
    return out.real


def v1(block):
    b = block.shape[0]
    f = np.fft.rfftn(block) / b**3  # (z, y, x//2+1)
    if b >= N:
        full = list(range(0, 16)) + list(range(-16, 0))
    elif b % 2 == 0:
        full = list(range(-(b // 2), b // 2))
    else:
        full = list(range(-(b // 2), b // 2 + 1))
    half = range(0, min(16, b // 2) + 1)
    g = np.zeros((N, N, N // 2 + 1), dtype=complex)
    for fz in full:
        for fy in full:
            for fx in half:
                g[fz % N, fy % N, fx] = f[fz % b, fy % b, fx]
    return np.fft.irfftn(g, s=(N, N, N), axes=(0, 1, 2)) * N**3


def main():
    worst = 0.0
    failures = []
    for b in (8, 13, 14, 32, 37, 48, 74):
        block = load(f"block_{b}.f32", b)
        for name, ref in (
            (f"sym_{b}.f32", symmetric(block)),
            (f"symshift_{b}.f32", symmetric(block, (0.3, -0.45, 0.125))),
        ):
            d = np.abs(load(name, N) - ref).max()
            worst = max(worst, d)
            print(f"{name}: max |ours - numpy| = {d:.2e}")
            if d > TOL:
                failures.append(name)
    for b in (14, 15, 37, 74):
        block = load(f"v1block_{b}.f32", b).copy()
        if b % 2 == 1:
            # V1 copies 2*floor(B/2) voxels: the last plane of each axis stays 0.
            block[-1, :, :] = 0.0
            block[:, -1, :] = 0.0
            block[:, :, -1] = 0.0
        d = np.abs(load(f"v1_{b}.f32", N) - v1(block)).max()
        worst = max(worst, d)
        print(f"v1_{b}.f32: max |ours - numpy| = {d:.2e}")
        if d > TOL:
            failures.append(f"v1_{b}")
    if failures:
        print("FAIL:", ", ".join(failures))
        sys.exit(1)
    print(f"numpy peer: all cubes agree (worst {worst:.2e})")


main()
