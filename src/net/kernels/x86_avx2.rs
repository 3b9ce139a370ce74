//! x86_64 AVX2+FMA kernel: register-blocked direct convolution. Each step keeps a 4 (x
//! positions) × 16 (output channels, two 8-lane vectors) tile of accumulators in 8 registers;
//! per input channel and tap it loads two weight vectors, broadcasts four input values and
//! issues eight FMAs.
use core::arch::x86_64::*;

/// See [`super::conv_row`].
///
/// # Safety
/// The CPU must support AVX2 and FMA, and the slice lengths must be the ones asserted by
/// [`super::conv_row`] (`CO % 16 == 0`, `E % 4 == 0`).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn conv_row<const CI: usize, const CO: usize, const E: usize>(
    panel: &[f32],
    valid: &[bool; 9],
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
) {
    let row_len = (E + 2) * CI;
    let pp = panel.as_ptr();
    let wp = w.as_ptr();
    let bp = bias.as_ptr();
    let op = out.as_mut_ptr();
    // SAFETY (for every pointer offset below): x + 3 + dx ≤ E + 1 so panel reads stay inside
    // `[9][E + 2][CI]`; cb + 16 ≤ CO and (r·3 + dx + 1)·CI·CO ≤ 27·CI·CO keep weight reads
    // inside `w`; x + 3 < E keeps writes inside `out`. Lengths were asserted by the caller.
    unsafe {
        let mut x = 0;
        while x < E {
            let mut cb = 0;
            while cb < CO {
                let b0 = _mm256_loadu_ps(bp.add(cb));
                let b1 = _mm256_loadu_ps(bp.add(cb + 8));
                let (mut a00, mut a01, mut a10, mut a11) = (b0, b1, b0, b1);
                let (mut a20, mut a21, mut a30, mut a31) = (b0, b1, b0, b1);
                for (r, &ok) in valid.iter().enumerate() {
                    if !ok {
                        continue;
                    }
                    for dx in 0..3 {
                        let prow = pp.add(r * row_len + (x + dx) * CI);
                        let wrow = wp.add((r * 3 + dx) * CI * CO + cb);
                        for ci in 0..CI {
                            let w0 = _mm256_loadu_ps(wrow.add(ci * CO));
                            let w1 = _mm256_loadu_ps(wrow.add(ci * CO + 8));
                            let p0 = _mm256_set1_ps(*prow.add(ci));
                            let p1 = _mm256_set1_ps(*prow.add(CI + ci));
                            let p2 = _mm256_set1_ps(*prow.add(2 * CI + ci));
                            let p3 = _mm256_set1_ps(*prow.add(3 * CI + ci));
                            a00 = _mm256_fmadd_ps(p0, w0, a00);
                            a01 = _mm256_fmadd_ps(p0, w1, a01);
                            a10 = _mm256_fmadd_ps(p1, w0, a10);
                            a11 = _mm256_fmadd_ps(p1, w1, a11);
                            a20 = _mm256_fmadd_ps(p2, w0, a20);
                            a21 = _mm256_fmadd_ps(p2, w1, a21);
                            a30 = _mm256_fmadd_ps(p3, w0, a30);
                            a31 = _mm256_fmadd_ps(p3, w1, a31);
                        }
                    }
                }
                let o = op.add(x * CO + cb);
                _mm256_storeu_ps(o, a00);
                _mm256_storeu_ps(o.add(8), a01);
                _mm256_storeu_ps(o.add(CO), a10);
                _mm256_storeu_ps(o.add(CO + 8), a11);
                _mm256_storeu_ps(o.add(2 * CO), a20);
                _mm256_storeu_ps(o.add(2 * CO + 8), a21);
                _mm256_storeu_ps(o.add(3 * CO), a30);
                _mm256_storeu_ps(o.add(3 * CO + 8), a31);
                cb += 16;
            }
            x += 4;
        }
    }
}
