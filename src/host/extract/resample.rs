//! Fourier resampling of a cubic block to the 32³ network cube.
//!
//! A Fourier crop or zero-pad is linear and separable: along each axis it is "forward DFT of
//! length B, keep/move some frequencies, inverse DFT of length 32". We therefore build, per
//! axis, the 32×B matrix of that whole chain in closed form,
//!
//! `L[o][j] = (1/B) · Σ_(f, w) w · exp(2πi·f·(o/32 + (δ − j)/B))`,
//!
//! where the sum runs over the kept input frequencies `f` with weights `w` and `δ` is an optional
//! sub-voxel shift (a phase ramp), and apply the three matrices one axis after the other. This is
//! exactly the FFT crop/pad (same numbers up to rounding) without a B³ complex buffer, and the
//! first pass already shrinks x from B to 32 voxels.
//!
//! Two spectrum mappings exist:
//! - [`SpectrumMap::Symmetric`] (ours): frequencies |f| ≤ 16 are kept. An even input's Nyquist
//!   bin is split in two halves at +B/2 and −B/2; when cropping, the output Nyquist bin receives
//!   both input frequencies +16 and −16. Every operator is therefore real, constants map to the
//!   same constants and pad-then-crop is the identity.
//! - [`SpectrumMap::XmippV1`]: the original extractor's half-spectrum copy followed by a
//!   complex-to-real inverse transform (spec §3 step 4). The odd-edge padding uses the correct
//!   frequency mapping, not the original one-index-off copy (spec §6.3).
use crate::net::topology::{CUBE_LEN, EDGE};

/// Output edge as a signed frequency bound: kept frequencies satisfy |f| ≤ `HALF`.
const HALF: i64 = (EDGE / 2) as i64;

/// How the block's spectrum is mapped onto the 32³ spectrum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpectrumMap {
    /// Symmetric Nyquist handling (our default): a real, mean-preserving sinc interpolator.
    Symmetric,
    /// The V1 Xmipp extractor's copy and complex-to-real inverse (for imported models).
    XmippV1,
}

/// One axis of the resampling operator: a complex `EDGE × edge` matrix, row-major `[o][j]`.
#[derive(Clone, Debug)]
pub struct AxisOperator {
    edge: usize,
    re: Vec<f64>,
    im: Vec<f64>,
}

/// The kept input frequencies of one axis and their weights.
fn symmetric_entries(edge: usize) -> Vec<(i64, f64)> {
    let b = edge as i64;
    let mut e = Vec::with_capacity(2 * HALF as usize + 2);
    for i in 0..b {
        if b % 2 == 0 && i == b / 2 {
            // The Nyquist bin is both +B/2 and −B/2: give each half of it.
            e.push((b / 2, 0.5));
            e.push((-b / 2, 0.5));
        } else if i <= b / 2 {
            e.push((i, 1.0));
        } else {
            e.push((i - b, 1.0));
        }
    }
    e.retain(|&(f, _)| f.abs() <= HALF);
    e
}

/// V1's frequencies for the y and z axes (full complex axes).
fn v1_full_axis_entries(edge: usize) -> Vec<(i64, f64)> {
    let b = edge as i64;
    if b >= EDGE as i64 {
        // Crop: output index 16 takes input frequency −16.
        (0..HALF).chain(-HALF..0).map(|f| (f, 1.0)).collect()
    } else if b % 2 == 0 {
        // Pad, even: 0 … m−1 and −m … −1 go to the same frequencies.
        let m = b / 2;
        (-m..m).map(|f| (f, 1.0)).collect()
    } else {
        // Pad, odd: −m … m, the correct mapping (V1 copied the negative half one index off).
        let m = b / 2;
        (-m..=m).map(|f| (f, 1.0)).collect()
    }
}

/// V1's frequencies for the x axis: the half spectrum 0 … min(16, ⌊B/2⌋) with the weights of a
/// complex-to-real inverse (1 for the DC and the output Nyquist bin, 2 for the rest). The final
/// real part is taken after all three axes.
fn v1_half_axis_entries(edge: usize) -> Vec<(i64, f64)> {
    let top = HALF.min(edge as i64 / 2);
    (0..=top)
        .map(|k| (k, if k == 0 || k == HALF { 1.0 } else { 2.0 }))
        .collect()
}

impl AxisOperator {
    /// The operator of one axis for a block of `edge` voxels; `shift` (in block voxels) moves
    /// the sampling grid so that block position `edge/2 + shift` lands on output voxel 16.
    pub fn new(edge: usize, shift: f64, entries: &[(i64, f64)]) -> Self {
        let b = edge as f64;
        let mut re = vec![0.0; EDGE * edge];
        let mut im = vec![0.0; EDGE * edge];
        let fmin = entries.iter().map(|e| e.0).min().unwrap_or(0);
        let fmax = entries.iter().map(|e| e.0).max().unwrap_or(0);
        let span = (fmax - fmin + 1) as usize;
        let mut pow = vec![(0.0f64, 0.0f64); span];
        for o in 0..EDGE {
            for j in 0..edge {
                let t = o as f64 / EDGE as f64 + (shift - j as f64) / b;
                let theta = 2.0 * std::f64::consts::PI * t;
                // exp(i·f·θ) for f = fmin … fmax by repeated multiplication (≤ 33 steps).
                let step = (theta.cos(), theta.sin());
                let a0 = fmin as f64 * theta;
                let mut cur = (a0.cos(), a0.sin());
                for p in pow.iter_mut() {
                    *p = cur;
                    cur = (
                        cur.0 * step.0 - cur.1 * step.1,
                        cur.0 * step.1 + cur.1 * step.0,
                    );
                }
                let (mut sr, mut si) = (0.0, 0.0);
                for &(f, w) in entries {
                    let (c, s) = pow[(f - fmin) as usize];
                    sr += w * c;
                    si += w * s;
                }
                re[o * edge + j] = sr / b;
                im[o * edge + j] = si / b;
            }
        }
        AxisOperator { edge, re, im }
    }

    /// The symmetric operator (ours).
    pub fn symmetric(edge: usize, shift: f64) -> Self {
        let mut op = Self::new(edge, shift, &symmetric_entries(edge));
        // Symmetric entries make the operator real; drop the rounding residue.
        op.im.iter_mut().for_each(|v| *v = 0.0);
        op
    }

    /// Is the imaginary part identically zero?
    fn is_real(&self) -> bool {
        self.im.iter().all(|&v| v == 0.0)
    }
}

/// The three per-axis operators `[x, y, z]` of one resampling.
pub fn operators(edge: usize, shift: [f64; 3], map: SpectrumMap) -> [AxisOperator; 3] {
    match map {
        SpectrumMap::Symmetric => [
            AxisOperator::symmetric(edge, shift[0]),
            AxisOperator::symmetric(edge, shift[1]),
            AxisOperator::symmetric(edge, shift[2]),
        ],
        SpectrumMap::XmippV1 => {
            let full = v1_full_axis_entries(edge);
            [
                AxisOperator::new(edge, shift[0], &v1_half_axis_entries(edge)),
                AxisOperator::new(edge, shift[1], &full),
                AxisOperator::new(edge, shift[2], &full),
            ]
        }
    }
}

/// Applies separable operators to a `edge³` block (x fastest) and writes the real part.
///
/// Panics only on a programming error (wrong buffer sizes); the public wrappers check them.
pub fn apply(ops: &[AxisOperator; 3], block: &[f32], out: &mut [f32]) {
    let b = ops[0].edge;
    assert!(ops.iter().all(|o| o.edge == b) && block.len() == b * b * b);
    assert_eq!(out.len(), CUBE_LEN);
    let complex = !ops.iter().all(AxisOperator::is_real);
    let n = EDGE;
    // Pass x: t1[z][y][ox], B·B·32 values. The operator is used transposed so the inner loop
    // is a 32-long multiply-add the compiler vectorises.
    let transpose = |m: &[f64]| {
        let mut t = vec![0.0f64; n * b];
        for o in 0..n {
            for j in 0..b {
                t[j * n + o] = m[o * b + j];
            }
        }
        t
    };
    let (xr, xi) = (transpose(&ops[0].re), transpose(&ops[0].im));
    let mut t1r = vec![0.0f64; b * b * n];
    let mut t1i = if complex {
        vec![0.0f64; b * b * n]
    } else {
        Vec::new()
    };
    for (r, row) in block.chunks_exact(b).enumerate() {
        let dst = &mut t1r[r * n..(r + 1) * n];
        for (j, &v) in row.iter().enumerate() {
            let v = v as f64;
            for (d, &l) in dst.iter_mut().zip(&xr[j * n..(j + 1) * n]) {
                *d += v * l;
            }
        }
        if complex {
            let dst = &mut t1i[r * n..(r + 1) * n];
            for (j, &v) in row.iter().enumerate() {
                let v = v as f64;
                for (d, &l) in dst.iter_mut().zip(&xi[j * n..(j + 1) * n]) {
                    *d += v * l;
                }
            }
        }
    }
    // Pass y: t2[z][oy][ox], B·32·32 values.
    let mut t2r = vec![0.0f64; b * n * n];
    let mut t2i = if complex {
        vec![0.0f64; b * n * n]
    } else {
        Vec::new()
    };
    for z in 0..b {
        for oy in 0..n {
            let dst = z * n * n + oy * n;
            for j in 0..b {
                let src = (z * b + j) * n;
                let (lr, li) = (ops[1].re[oy * b + j], ops[1].im[oy * b + j]);
                let d = &mut t2r[dst..dst + n];
                let a = &t1r[src..src + n];
                if complex {
                    let ai = &t1i[src..src + n];
                    for k in 0..n {
                        d[k] += lr * a[k] - li * ai[k];
                    }
                    let di = &mut t2i[dst..dst + n];
                    for k in 0..n {
                        di[k] += lr * ai[k] + li * a[k];
                    }
                } else {
                    for (d, &a) in d.iter_mut().zip(a) {
                        *d += lr * a;
                    }
                }
            }
        }
    }
    // Pass z: the real part only.
    let plane = n * n;
    let mut acc = vec![0.0f64; plane];
    for oz in 0..n {
        acc.iter_mut().for_each(|v| *v = 0.0);
        for j in 0..b {
            let (lr, li) = (ops[2].re[oz * b + j], ops[2].im[oz * b + j]);
            let src = j * plane;
            if complex {
                for (k, a) in acc.iter_mut().enumerate() {
                    *a += lr * t2r[src + k] - li * t2i[src + k];
                }
            } else {
                for (a, &v) in acc.iter_mut().zip(&t2r[src..src + plane]) {
                    *a += lr * v;
                }
            }
        }
        for (d, &a) in out[oz * plane..(oz + 1) * plane].iter_mut().zip(&acc) {
            *d = a as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_entries_split_the_nyquist_bin() {
        let e = symmetric_entries(10);
        assert_eq!(e.len(), 11);
        assert!(e.contains(&(5, 0.5)) && e.contains(&(-5, 0.5)));
        // Crop: ±16 both kept with full weight, ±17 dropped.
        let e = symmetric_entries(40);
        assert_eq!(e.len(), 33);
        assert!(e.contains(&(16, 1.0)) && e.contains(&(-16, 1.0)));
    }

    #[test]
    fn v1_entries_follow_the_spec() {
        assert_eq!(v1_full_axis_entries(74).len(), 32);
        assert!(v1_full_axis_entries(74).contains(&(-16, 1.0)));
        assert!(!v1_full_axis_entries(74).contains(&(16, 1.0)));
        assert_eq!(v1_full_axis_entries(14).len(), 14);
        assert!(v1_full_axis_entries(14).contains(&(-7, 1.0)));
        assert_eq!(v1_half_axis_entries(14).len(), 8);
        assert_eq!(v1_half_axis_entries(74).last(), Some(&(16, 1.0)));
    }
}
