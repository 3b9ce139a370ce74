//! The simulator's random numbers: the crate's one generator, [`Rng`] (re-exported from
//! [`crate::rng`], so every simulator stream is the same as before the move), and the
//! inverse-CDF table behind the fast normal deviates of the image noise.
pub use crate::rng::Rng;

/// Quantiles `Φ⁻¹(i / BINS)` of the standard normal for [`NormalTable::sample`].
pub struct NormalTable {
    q: Vec<f32>,
}

impl Default for NormalTable {
    fn default() -> Self {
        Self::new()
    }
}

impl NormalTable {
    /// The shared table (built once per process, ~10 ms).
    pub fn shared() -> &'static NormalTable {
        static T: std::sync::OnceLock<NormalTable> = std::sync::OnceLock::new();
        T.get_or_init(NormalTable::new)
    }

    /// Number of equal-probability bins.
    pub const BINS: usize = 4096;

    /// Builds the table (bisection on `erfc`, f64).
    pub fn new() -> Self {
        let cdf = |z: f64| 0.5 * libm::erfc(-z / std::f64::consts::SQRT_2);
        let q = (0..=Self::BINS)
            .map(|i| {
                let p = i as f64 / Self::BINS as f64;
                if i == 0 {
                    return f32::NEG_INFINITY;
                }
                if i == Self::BINS {
                    return f32::INFINITY;
                }
                let (mut lo, mut hi) = (-10.0, 10.0);
                for _ in 0..80 {
                    let mid = 0.5 * (lo + hi);
                    if cdf(mid) < p {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                (0.5 * (lo + hi)) as f32
            })
            .collect();
        NormalTable { q }
    }

    /// Fast standard normal deviate from `rng` for image noise: linear interpolation inside
    /// one of the 4096 quantile bins (the density is exact at the knots and piecewise constant
    /// between), falling back to an exact method in the two outermost bins so the tails stay
    /// Gaussian. Several times cheaper than Box–Muller ([`Rng::normal`]).
    pub fn sample(&self, rng: &mut Rng) -> f32 {
        let r = rng.next_u64();
        let i = (r >> 52) as usize; // 12 bits: the bin
        if i == 0 || i == Self::BINS - 1 {
            // Tail beyond a = |edge|: Marsaglia's exact tail method, x = sqrt(a² − 2 ln u₁)
            // accepted when u₂·x < a.
            let a = -self.q[1] as f64;
            let x = loop {
                let u1 = 1.0 - rng.uniform();
                let u2 = rng.uniform();
                let x = (a * a - 2.0 * u1.ln()).sqrt();
                if u2 * x < a {
                    break x;
                }
            };
            return if i == 0 { -x as f32 } else { x as f32 };
        }
        let f = ((r >> 28) & 0xFF_FFFF) as f32 * (1.0 / (1u32 << 24) as f32);
        self.q[i] + (self.q[i + 1] - self.q[i]) * f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_normal_has_gaussian_moments_and_tails() {
        let t = NormalTable::new();
        let mut r = Rng::new(3, 0);
        let n = 400_000;
        let (mut s, mut s2, mut s4, mut tail) = (0.0, 0.0, 0.0, 0usize);
        for _ in 0..n {
            let v = t.sample(&mut r) as f64;
            s += v;
            s2 += v * v;
            s4 += v * v * v * v;
            if v.abs() > 3.0 {
                tail += 1;
            }
        }
        let n = n as f64;
        assert!((s / n).abs() < 0.01);
        assert!((s2 / n - 1.0).abs() < 0.01, "var {}", s2 / n);
        assert!((s4 / n - 3.0).abs() < 0.08, "kurtosis {}", s4 / n);
        // P(|z| > 3) = 0.0027
        let p = tail as f64 / n;
        assert!((p - 0.0027).abs() < 0.0006, "tail {p}");
    }
}
