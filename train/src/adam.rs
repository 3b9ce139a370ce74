//! Adam with bias correction (Kingma & Ba), applied to the trainable parameters only.

/// Optimiser state; `m`, `v` and `t` are stored in checkpoints.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    /// Denominator guard (Keras default 1e-7).
    pub eps: f32,
    /// First-moment estimates.
    pub m: Vec<f32>,
    /// Second-moment estimates.
    pub v: Vec<f32>,
    /// Steps taken.
    pub t: u64,
}

impl Adam {
    /// Zeroed moments for `n` parameters.
    pub fn new(n: usize, lr: f32) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    /// One update of every parameter whose `trainable` flag is set.
    pub fn step(&mut self, params: &mut [f32], grad: &[f32], trainable: &[bool]) {
        self.t += 1;
        let t = self.t as i32;
        let c1 = 1.0 - (self.beta1 as f64).powi(t);
        let c2 = 1.0 - (self.beta2 as f64).powi(t);
        let step = (self.lr as f64 * c2.sqrt() / c1) as f32;
        let eps_hat = (self.eps as f64 * c2.sqrt()) as f32;
        for i in 0..params.len() {
            if !trainable[i] {
                continue;
            }
            let g = grad[i];
            self.m[i] = self.beta1 * self.m[i] + (1.0 - self.beta1) * g;
            self.v[i] = self.beta2 * self.v[i] + (1.0 - self.beta2) * g * g;
            params[i] -= step * self.m[i] / (self.v[i].sqrt() + eps_hat);
        }
    }
}
