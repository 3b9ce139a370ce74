//! FFT helpers of the std layer: transform lengths `rustfft` handles fast, and `rustfft` behind
//! the detector kernels' [`Fft`] trait.
use std::sync::Arc;

use rustfft::FftPlanner;

use crate::detect::bandpass::Fft;
use crate::detect::{Complex32, KernelError};

/// The smallest length ≥ `min` whose only prime factors are 2, 3 and 5: `rustfft` transforms
/// those about as fast per point as a power of two, so a 1440-wide slice needs no padding to
/// 2048 (the detector's band-pass, the simulator's filters).
pub fn fast_len(min: usize) -> usize {
    let smooth = |mut n: usize| {
        for p in [2, 3, 5] {
            while n % p == 0 {
                n /= p;
            }
        }
        n == 1
    };
    (min.max(1)..)
        .find(|&n| smooth(n))
        .expect("5-smooth numbers are unbounded")
}

/// A cached-plan `rustfft` forward transform for the detector kernels (one per worker thread).
pub struct RustFft {
    planner: FftPlanner<f32>,
    plans: Vec<(usize, Arc<dyn rustfft::Fft<f32>>)>,
    scratch: Vec<Complex32>,
}

impl Default for RustFft {
    fn default() -> Self {
        RustFft {
            planner: FftPlanner::new(),
            plans: Vec::new(),
            scratch: Vec::new(),
        }
    }
}

impl Fft for RustFft {
    fn forward(&mut self, data: &mut [Complex32]) -> Result<(), KernelError> {
        let n = data.len();
        if n <= 1 {
            return Ok(());
        }
        let plan = match self.plans.iter().find(|(len, _)| *len == n) {
            Some((_, p)) => Arc::clone(p),
            None => {
                let p = self.planner.plan_fft_forward(n);
                self.plans.push((n, Arc::clone(&p)));
                p
            }
        };
        let need = plan.get_inplace_scratch_len();
        if self.scratch.len() < need {
            self.scratch.resize(need, Complex32::new(0.0, 0.0));
        }
        plan.process_with_scratch(data, &mut self.scratch[..need]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_lengths_are_5_smooth_and_minimal() {
        assert_eq!(fast_len(0), 1);
        assert_eq!(fast_len(1440), 1440);
        assert_eq!(fast_len(1024), 1024);
        assert_eq!(fast_len(1023), 1024);
        assert_eq!(fast_len(1025), 1080);
        assert_eq!(fast_len(927), 960);
        assert_eq!(fast_len(7), 8);
        assert_eq!(fast_len(11), 12);
    }

    #[test]
    fn odd_lengths_transform_like_a_naive_dft() {
        let n = 15;
        let x: Vec<Complex32> = (0..n)
            .map(|i| Complex32::new((i as f32 * 0.7).sin(), (i as f32 * 0.3).cos()))
            .collect();
        let mut y = x.clone();
        RustFft::default().forward(&mut y).unwrap();
        for (k, v) in y.iter().enumerate() {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for (j, a) in x.iter().enumerate() {
                let t = -2.0 * std::f64::consts::PI * (j * k) as f64 / n as f64;
                re += a.re as f64 * t.cos() - a.im as f64 * t.sin();
                im += a.re as f64 * t.sin() + a.im as f64 * t.cos();
            }
            assert!((v.re as f64 - re).abs() < 1e-4 && (v.im as f64 - im).abs() < 1e-4);
        }
    }
}
