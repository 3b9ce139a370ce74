//! Mirror (point-reflection) correlation of a cubic window with itself.
//!
//! A bead is point-symmetric about its centre, so the correlation of a window with its own
//! point mirror peaks at the lag that maps the bead onto itself. With window edge L and the
//! mirror taken through the window centre (L−1)/2, a bead at offset d from that centre peaks at
//! lag s = 2d, so d = s/2 (the spec's (s−1)/2 rule, written relative to the window centre
//! instead of the voxel after it). The window mean is removed first, so a DC offset cannot
//! pull the peak towards zero lag, and the lags are searched directly over a small range.

/// f32 scratch [`centre_offset`] needs for window edge `l` and lag range ±`smax`.
pub const fn centre_scratch_len(l: usize, smax: usize) -> usize {
    l * l * l + (2 * smax + 1) * (2 * smax + 1) * (2 * smax + 1)
}

/// Offset `[dx, dy, dz]` (window voxels, real) of the point-symmetry centre of the cube `w`
/// (edge `l`, x fastest) from the window centre (l−1)/2. Lags are searched on [−smax, smax]
/// per axis, the peak is refined by a parabola per axis. Returns `None` when the window is
/// constant (no peak). The second value is `true` when the peak sits on the lag boundary.
pub fn centre_offset(
    w: &mut [f32],
    l: usize,
    smax: usize,
    scratch: &mut [f32],
) -> Result<Option<([f64; 3], bool)>, super::KernelError> {
    let n = l * l * l;
    if l == 0 || w.len() != n || scratch.len() < centre_scratch_len(l, smax) || smax >= l {
        return Err(super::KernelError::BufferSize);
    }
    let mean = (w.iter().map(|&v| v as f64).sum::<f64>() / n as f64) as f32;
    w.iter_mut().for_each(|v| *v -= mean);
    let (mirror, corr) = scratch.split_at_mut(n);
    for (i, m) in mirror.iter_mut().enumerate() {
        *m = w[n - 1 - i];
    }
    let ns = 2 * smax + 1;
    let s = smax as isize;
    let li = l as isize;
    for sz in -s..=s {
        for sy in -s..=s {
            for sx in -s..=s {
                // Σ_t W[t + s] · M[t] over the t where both are inside the window.
                let range = |d: isize| (0.max(-d), li.min(li - d));
                let (z0, z1) = range(sz);
                let (y0, y1) = range(sy);
                let (x0, x1) = range(sx);
                let mut acc = 0.0f64;
                for tz in z0..z1 {
                    for ty in y0..y1 {
                        let wr = (((tz + sz) * li + ty + sy) * li + x0 + sx) as usize;
                        let mr = ((tz * li + ty) * li + x0) as usize;
                        let len = (x1 - x0) as usize;
                        let row: f32 = w[wr..wr + len]
                            .iter()
                            .zip(&mirror[mr..mr + len])
                            .map(|(a, b)| a * b)
                            .sum();
                        acc += row as f64;
                    }
                }
                let idx = (((sz + s) as usize * ns) + (sy + s) as usize) * ns + (sx + s) as usize;
                corr[idx] = acc as f32;
            }
        }
    }
    let c = &corr[..ns * ns * ns];
    let mut best = 0usize;
    for (i, &v) in c.iter().enumerate() {
        if v > c[best] {
            best = i;
        }
    }
    if c[best] <= 0.0 {
        return Ok(None);
    }
    let b = [best % ns, (best / ns) % ns, best / (ns * ns)];
    let stride = [1, ns, ns * ns];
    let mut out = [0.0f64; 3];
    let mut on_edge = false;
    for a in 0..3 {
        let mut frac = 0.0f64;
        if b[a] == 0 || b[a] == ns - 1 {
            on_edge = true;
        } else {
            let lo = c[best - stride[a]] as f64;
            let hi = c[best + stride[a]] as f64;
            let mid = c[best] as f64;
            let den = lo - 2.0 * mid + hi;
            if den < 0.0 {
                frac = (0.5 * (lo - hi) / den).clamp(-0.5, 0.5);
            }
        }
        out[a] = ((b[a] as f64 - smax as f64) + frac) / 2.0;
    }
    Ok(Some((out, on_edge)))
}

/// Pearson correlation of the cube `w` (edge `l`) with its point mirror through the window
/// centre: the mean of standardised voxel × standardised mirror voxel (population SD).
/// 0 for a constant window.
pub fn mirror_pearson(w: &[f32], l: usize) -> Result<f64, super::KernelError> {
    let n = l * l * l;
    if l == 0 || w.len() != n {
        return Err(super::KernelError::BufferSize);
    }
    let mean = w.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let var = w
        .iter()
        .map(|&v| (v as f64 - mean) * (v as f64 - mean))
        .sum::<f64>()
        / n as f64;
    if var <= 0.0 {
        return Ok(0.0);
    }
    let cov = (0..n)
        .map(|i| (w[i] as f64 - mean) * (w[n - 1 - i] as f64 - mean))
        .sum::<f64>()
        / n as f64;
    Ok(cov / var)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(l: usize, c: [f64; 3]) -> [f32; 4096] {
        core::array::from_fn(|i| {
            if i >= l * l * l {
                return 0.0;
            }
            let p = [(i % l) as f64, ((i / l) % l) as f64, (i / (l * l)) as f64];
            let r2: f64 = (0..3).map(|a| (p[a] - c[a]).powi(2)).sum();
            (10.0 - 8.0 * libm::exp(-r2 / 4.0)) as f32
        })
    }

    #[test]
    fn finds_integer_and_half_offsets() {
        let l = 16;
        let mut scratch = [0.0f32; 4096 + 3375];
        for d in [[0.0, 0.0, 0.0], [2.0, -1.0, 1.0], [-3.0, 0.5, 2.5]] {
            let centre = [7.5 + d[0], 7.5 + d[1], 7.5 + d[2]];
            let mut w = blob(l, centre);
            let (off, edge) = centre_offset(&mut w[..l * l * l], l, 7, &mut scratch)
                .unwrap()
                .unwrap();
            assert!(!edge);
            for a in 0..3 {
                assert!((off[a] - d[a]).abs() < 0.3, "axis {a}: {off:?} vs {d:?}");
            }
        }
    }

    #[test]
    fn pearson_of_symmetric_blob_is_one() {
        let l = 8;
        let w = blob(l, [3.5, 3.5, 3.5]);
        assert!((mirror_pearson(&w[..512], l).unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(mirror_pearson(&[1.0; 8], 2).unwrap(), 0.0);
    }
}
