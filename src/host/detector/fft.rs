//! `rustfft` behind the kernels' [`Fft`] trait, for the std driver.
use std::sync::Arc;

use rustfft::FftPlanner;

use crate::detect::bandpass::Fft;
use crate::detect::{Complex32, KernelError};

/// A cached-plan `rustfft` forward transform (one per worker thread).
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
