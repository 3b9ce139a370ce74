//! x86_64 AVX2+FMA kernel: register-blocked direct convolution with the max-pool fused into the
//! store.
//!
//! A micro-tile is `MR` (≤ 6) consecutive x positions × 16 output channels, held in `2·MR` ≤ 12
//! accumulator registers (plus two weight registers and one broadcast: 15 of the 16 ymm
//! registers). Per input channel and tap it loads two weight vectors, broadcasts `MR` input
//! values and issues `2·MR` FMAs, so it is bound by the two FMA pipes rather than by loads, and
//! 12 independent accumulator chains hide the FMA latency. A row of `E` positions is split into
//! as few, as even tiles as possible whose widths are whole pooling windows (P = 2: 32 →
//! 6,6,6,6,4,4; 16 → 6,6,4; 8 → 4,4), so each window is max-reduced in registers and touches
//! the pooled row once.
use core::arch::x86_64::*;

/// Widest micro-tile, in x positions.
const MR_MAX: usize = 6;

/// See [`super::conv_pool_row`].
///
/// # Safety
/// The CPU must support AVX2 and FMA, and the slice lengths must be the ones asserted by
/// [`super::conv_pool_row`] (`CO % 16 == 0`, `E % P == 0`).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn conv_pool_row<
    const CI: usize,
    const CO: usize,
    const E: usize,
    const P: usize,
>(
    panel: &[f32],
    valid: &[bool; 9],
    w: &[f32],
    bias: &[f32],
    pooled: &mut [f32],
) {
    // The valid panel rows, compacted so the tap loop has no branch.
    let mut rows = [0usize; 9];
    let mut n_rows = 0;
    for (r, &ok) in valid.iter().enumerate() {
        if ok {
            rows[n_rows] = r;
            n_rows += 1;
        }
    }
    let rows = &rows[..n_rows];
    // Tiles are made of whole windows of `unit` positions when a window fits in a tile.
    let unit = if P <= MR_MAX { P } else { 1 };
    let groups = E / unit;
    let tiles = groups.div_ceil(MR_MAX / unit);
    let mut cb = 0;
    while cb < CO {
        let mut x = 0;
        for t in 0..tiles {
            // Even split: the first groups % tiles tiles are one window wider.
            let mr = unit * (groups / tiles + usize::from(t < groups % tiles));
            let args = (panel, rows, w, bias, &mut *pooled, x, cb);
            // SAFETY: x + mr ≤ E and cb + 16 ≤ CO; lengths as asserted by the caller.
            unsafe {
                match mr {
                    1 => tile::<CI, CO, E, P, 1>(args),
                    2 => tile::<CI, CO, E, P, 2>(args),
                    3 => tile::<CI, CO, E, P, 3>(args),
                    4 => tile::<CI, CO, E, P, 4>(args),
                    5 => tile::<CI, CO, E, P, 5>(args),
                    _ => tile::<CI, CO, E, P, 6>(args),
                }
            }
            x += mr;
        }
        cb += 16;
    }
}

type TileArgs<'a> = (
    &'a [f32],
    &'a [usize],
    &'a [f32],
    &'a [f32],
    &'a mut [f32],
    usize,
    usize,
);

/// Output positions `x..x + MR`, channels `cb..cb + 16`: convolution + bias, then
/// `pooled[(x + m) / P][c] = max(pooled[(x + m) / P][c], value)`.
///
/// # Safety
/// AVX2+FMA present; `x + MR ≤ E`, `cb + 16 ≤ CO`, every entry of `rows` < 9, and the slice
/// lengths of [`super::conv_pool_row`].
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile<
    const CI: usize,
    const CO: usize,
    const E: usize,
    const P: usize,
    const MR: usize,
>(
    (panel, rows, w, bias, pooled, x, cb): TileArgs<'_>,
) {
    let row_len = (E + 2) * CI;
    let (pp, wp, op) = (panel.as_ptr(), w.as_ptr(), pooled.as_mut_ptr());
    // SAFETY (every pointer offset below): panel reads reach (x + MR − 1 + 2)·CI + CI − 1 <
    // (E + 2)·CI within a row r < 9 of `[9][E + 2][CI]`; weight reads reach
    // ((r·3 + 2)·CI + CI − 1)·CO + cb + 15 < 27·CI·CO; pooled writes reach
    // ((x + MR − 1)/P)·CO + cb + 15 < (E/P)·CO.
    unsafe {
        let b0 = _mm256_loadu_ps(bias.as_ptr().add(cb));
        let b1 = _mm256_loadu_ps(bias.as_ptr().add(cb + 8));
        let mut acc = [[b0, b1]; MR];
        for &r in rows {
            for dx in 0..3 {
                // Opaque to the optimiser: with CI = 1 it would otherwise keep the broadcasts
                // of one dx alive for the next (the same addresses), run out of registers and
                // spill accumulators.
                let prow = core::hint::black_box(pp.add(r * row_len + (x + dx) * CI));
                let wrow = wp.add((r * 3 + dx) * CI * CO + cb);
                for ci in 0..CI {
                    let w0 = _mm256_loadu_ps(wrow.add(ci * CO));
                    let w1 = _mm256_loadu_ps(wrow.add(ci * CO + 8));
                    for (m, a) in acc.iter_mut().enumerate() {
                        let p = _mm256_broadcast_ss(&*prow.add(m * CI + ci));
                        a[0] = _mm256_fmadd_ps(p, w0, a[0]);
                        a[1] = _mm256_fmadd_ps(p, w1, a[1]);
                    }
                }
            }
        }
        // Max over each window's positions in registers, then one update of the pooled row.
        let flush = |px: usize, v: [__m256; 2]| {
            let o = op.add(px * CO + cb);
            _mm256_storeu_ps(o, _mm256_max_ps(_mm256_loadu_ps(o), v[0]));
            _mm256_storeu_ps(o.add(8), _mm256_max_ps(_mm256_loadu_ps(o.add(8)), v[1]));
        };
        let (mut px, mut cur) = (x / P, acc[0]);
        for (m, a) in acc.iter().enumerate().skip(1) {
            if (x + m) / P == px {
                cur = [_mm256_max_ps(cur[0], a[0]), _mm256_max_ps(cur[1], a[1])];
            } else {
                flush(px, cur);
                (px, cur) = ((x + m) / P, *a);
            }
        }
        flush(px, cur);
    }
}

#[cfg(test)]
super::suite::kernel_tests!(Backend::avx2_fma());
