//! Helpers shared by the integration tests: deterministic inputs drawn from the crate's one
//! generator, [`misalign::rng::Rng`]. (Each test crate uses a subset.)
#![allow(dead_code)]

pub use misalign::rng::Rng;

/// `n` deterministic pseudo-random values in [-1, 1) from `seed`.
pub fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed, 0);
    (0..n).map(|_| r.range(-1.0, 1.0) as f32).collect()
}
