//! The test suite every kernel backend gets by declaring itself: `kernel_tests!(expr)` inside a
//! backend's module (with `expr` an `Option<Backend>`) generates one test per layer shape that
//! compares the backend with a naive f64 reference of the row kernel's contract (module docs of
//! [`super`]). A new backend is tested by adding one line.
use super::{conv_pool_row, panel_len, Backend};
use crate::rng::Rng;

/// The row kernel's contract, in f64 and plain loops: conv = bias + Σ over valid rows r, dx and
/// input channels of panel[r][x + dx][ci] · w[r][dx][ci][co]; pooled = max(pooled, conv).
fn reference<const CI: usize, const CO: usize, const E: usize, const P: usize>(
    panel: &[f32],
    valid: &[bool; 9],
    w: &[f32],
    bias: &[f32],
    pooled: &mut [f64],
) {
    for x in 0..E {
        for co in 0..CO {
            let mut acc = bias[co] as f64;
            for (r, _) in valid.iter().enumerate().filter(|(_, &v)| v) {
                for dx in 0..3 {
                    for ci in 0..CI {
                        let p = panel[(r * (E + 2) + x + dx) * CI + ci] as f64;
                        let k = w[((r * 3 + dx) * CI + ci) * CO + co] as f64;
                        acc += p * k;
                    }
                }
            }
            let slot = &mut pooled[(x / P) * CO + co];
            *slot = slot.max(acc);
        }
    }
}

/// Random panels (zero x pads as the forward pass writes them), weights, invalid-row masks
/// and prior pooled values, so both the max against what is already pooled and the window
/// along x are exercised; the backend must agree with [`reference`] to f32 rounding.
pub(super) fn agrees_with_reference<
    const CI: usize,
    const CO: usize,
    const E: usize,
    const P: usize,
>(
    backend: Backend,
    seed: u64,
) {
    let mut rng = Rng::new(seed, (CI * 1000 + CO * 10 + E) as u64);
    let mut uniform = |n: usize, scale: f64| -> Vec<f32> {
        (0..n).map(|_| rng.range(-scale, scale) as f32).collect()
    };
    for trial in 0..20 {
        let mut panel = uniform(panel_len(CI, E), 1.0);
        for r in 0..9 {
            let row = &mut panel[r * (E + 2) * CI..(r + 1) * (E + 2) * CI];
            row[..CI].fill(0.0);
            row[(E + 1) * CI..].fill(0.0);
        }
        let w = uniform(27 * CI * CO, 1.0);
        let bias = uniform(CO, 1.0);
        let prior = uniform((E / P) * CO, 2.0);
        let mut valid = [true; 9];
        if trial > 0 {
            let mask = uniform(9, 1.0);
            for (v, m) in valid.iter_mut().zip(mask) {
                *v = m > -0.5;
            }
        }
        let mut got = prior.clone();
        conv_pool_row::<CI, CO, E, P>(backend, &panel, &valid, &w, &bias, &mut got);
        let mut want: Vec<f64> = prior.iter().map(|&v| v as f64).collect();
        reference::<CI, CO, E, P>(&panel, &valid, &w, &bias, &mut want);
        // f32 rounding of a sum of ≤ 27·CI + 1 products of magnitude ≤ 1.
        let tol = (27 * CI + 1) as f64 * 4.0 * f32::EPSILON as f64;
        for (k, (g, r)) in got.iter().zip(&want).enumerate() {
            assert!(
                (*g as f64 - r).abs() <= tol,
                "{} CI={CI} CO={CO} E={E} P={P} trial {trial} [{k}]: {g} vs {r}",
                backend.name()
            );
        }
    }
}

/// One test per layer shape of the network, and odd shapes that hit every micro-tile width
/// (E = 7 → 4,3; 13 → 5,4,4; 11 → 6,5), no pooling, and rows of one and two voxels.
macro_rules! kernel_tests {
    ($backend:expr) => {
        #[cfg(test)]
        mod kernel_suite {
            use super::super::suite::agrees_with_reference;
            use super::super::Backend;

            fn backend() -> Option<Backend> {
                let b: Option<Backend> = $backend;
                if b.is_none() {
                    eprintln!("this CPU lacks the backend; its tests are skipped");
                }
                b
            }

            macro_rules! shape {
                ($name:ident, $ci:literal, $co:literal, $e:literal, $p:literal) => {
                    #[test]
                    fn $name() {
                        if let Some(b) = backend() {
                            agrees_with_reference::<$ci, $co, $e, $p>(b, 0xC0FFEE);
                        }
                    }
                };
            }
            shape!(layer1_1x16_e32_p2, 1, 16, 32, 2);
            shape!(layer2_16x16_e16_p2, 16, 16, 16, 2);
            shape!(layer3_16x32_e8_p2, 16, 32, 8, 2);
            shape!(layer4_32x64_e4_p4, 32, 64, 4, 4);
            shape!(odd_3x32_e12_p3, 3, 32, 12, 3);
            shape!(odd_2x16_e7_p7, 2, 16, 7, 7);
            shape!(odd_5x48_e13_p1, 5, 48, 13, 1);
            shape!(odd_1x16_e11_p1, 1, 16, 11, 1);
            shape!(row_of_one, 1, 16, 1, 1);
            shape!(row_of_two, 1, 16, 2, 2);
        }
    };
}
pub(super) use kernel_tests;
