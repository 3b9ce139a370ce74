//! The whole network on a mini-batch: forward (training or inference mode) and backward, with
//! the per-sample work spread over an explicit number of threads.
//!
//! Parameters are one flat `[f32; PARAM_COUNT]` in the canonical [`TENSORS`] order, so export
//! to a weight file is a copy. Batch-norm moving statistics live in that vector too; a training
//! step reads but never writes them — [`update_moving_stats`] applies the Keras update.
use misalign::net::topology::{
    block_first_tensor, tensor_offset, TensorKind, BLOCK_EDGE, CHANNELS, DENSE_FIRST_TENSOR,
    DENSE_UNITS, FEATURES, PARAM_COUNT, POOL, TENSORS, TENSOR_COUNT,
};

use crate::layers::*;
use misalign::rng::Rng;

/// Dropout rate of the hidden dense layer (training only).
pub const DROPOUT: f32 = 0.2;
/// Keras batch-norm momentum: moving = momentum·moving + (1 − momentum)·batch.
pub const BN_MOMENTUM: f32 = 0.99;

/// Value range of tensor `i` inside the flat parameter vector.
pub fn span(i: usize) -> std::ops::Range<usize> {
    tensor_offset(i)..tensor_offset(i) + TENSORS[i].len
}

/// True for parameters updated by gradient descent (all but the moving statistics).
pub fn trainable_mask() -> Vec<bool> {
    let mut m = vec![true; PARAM_COUNT];
    for (i, t) in TENSORS.iter().enumerate() {
        if matches!(t.kind, TensorKind::BnMovingMean | TensorKind::BnMovingVar) {
            m[span(i)].fill(false);
        }
    }
    m
}

/// Fresh parameters: Glorot-uniform kernels (the Keras default), zero biases and β, γ = 1,
/// moving mean 0 and variance 1.
pub fn init_params(seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed, 0);
    let mut p = vec![0f32; PARAM_COUNT];
    for (i, t) in TENSORS.iter().enumerate() {
        let r = span(i);
        match t.kind {
            TensorKind::ConvKernel | TensorKind::DenseKernel => {
                let (fan_in, fan_out) = fans(i);
                let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
                p[r].iter_mut()
                    .for_each(|v| *v = rng.range(-limit, limit) as f32);
            }
            TensorKind::BnGamma | TensorKind::BnMovingVar => p[r].fill(1.0),
            _ => {}
        }
    }
    p
}

fn fans(i: usize) -> (usize, usize) {
    if i < DENSE_FIRST_TENSOR {
        let b = i / 6;
        (CHANNELS[b] * 27, CHANNELS[b + 1] * 27)
    } else if i == DENSE_FIRST_TENSOR {
        (FEATURES, DENSE_UNITS)
    } else {
        (DENSE_UNITS, 1)
    }
}

/// Training mode (batch statistics, dropout drawn from `dropout_seed`) or inference mode
/// (moving statistics, no dropout).
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Train { dropout_seed: u64 },
    Infer,
}

/// Everything one sample keeps between forward and backward.
#[derive(Default)]
struct Sample {
    x: [Vec<f32>; 4],
    col: [Vec<f32>; 4],
    pooled: [Vec<f32>; 4],
    arg: [Vec<u32>; 4],
    xhat: [Vec<f32>; 4],
    /// Gradient w.r.t. the output of batch norm `b`.
    dy: [Vec<f32>; 4],
    feat: Vec<f32>,
    h: Vec<f32>,
    mask: Vec<f32>,
    logit: f32,
}

impl Sample {
    fn sized() -> Self {
        let mut s = Sample::default();
        for b in 0..4 {
            let (e, cin, cout) = (BLOCK_EDGE[b], CHANNELS[b], CHANNELS[b + 1]);
            let n = e * e * e;
            let eo = e / POOL[b];
            let no = cout * eo * eo * eo;
            s.x[b] = vec![0.0; cin * n];
            s.col[b] = vec![0.0; col_rows(cin) * n];
            s.pooled[b] = vec![0.0; no];
            s.arg[b] = vec![0; no];
            s.xhat[b] = vec![0.0; no];
            s.dy[b] = vec![0.0; no];
        }
        s.feat = vec![0.0; FEATURES];
        s.h = vec![0.0; DENSE_UNITS];
        s.mask = vec![1.0; DENSE_UNITS];
        s
    }
}

/// Per-thread scratch and gradient accumulator.
struct Local {
    grad: Vec<f32>,
    z: Vec<f32>,
    dcol: Vec<f32>,
    dp: Vec<f32>,
}

impl Local {
    fn new() -> Self {
        let zmax = (0..4)
            .map(|b| CHANNELS[b + 1] * BLOCK_EDGE[b].pow(3))
            .max()
            .unwrap_or(0);
        let dcolmax = (1..4)
            .map(|b| col_rows(CHANNELS[b]) * BLOCK_EDGE[b].pow(3))
            .max()
            .unwrap_or(0);
        Local {
            grad: vec![0.0; PARAM_COUNT],
            z: vec![0.0; zmax],
            dcol: vec![0.0; dcolmax],
            dp: vec![0.0; zmax],
        }
    }
}

/// Reusable buffers for batches up to any size (grown on demand), for a fixed thread count.
pub struct Workspace {
    threads: usize,
    samples: Vec<Sample>,
    locals: Vec<Local>,
}

/// Result of one forward (and, in training, backward) pass over a batch.
#[derive(Clone, Debug)]
pub struct BatchResult {
    /// Output logits (score = sigmoid(logit)).
    pub logits: Vec<f32>,
    /// Mean binary cross-entropy (0 when no labels were given).
    pub loss: f64,
    /// Gradient of the mean loss w.r.t. every parameter (zero for the moving statistics).
    pub grad: Vec<f32>,
    /// Batch mean and biased variance of every batch-norm layer, and the count of values per
    /// channel they were taken over (training mode only).
    pub bn_stats: Vec<(Vec<f32>, Vec<f32>, usize)>,
}

impl Workspace {
    /// Buffers for `threads` worker threads (at least 1).
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        Workspace {
            threads,
            samples: Vec::new(),
            locals: (0..threads).map(|_| Local::new()).collect(),
        }
    }

    /// Runs `f(global index, sample, local)` over the first `n` samples on the worker threads.
    fn par<F>(&mut self, n: usize, f: F)
    where
        F: Fn(usize, &mut Sample, &mut Local) + Sync,
    {
        let per = n.div_ceil(self.threads).max(1);
        let samples = &mut self.samples[..n];
        if self.threads == 1 {
            let local = &mut self.locals[0];
            samples
                .iter_mut()
                .enumerate()
                .for_each(|(i, s)| f(i, s, local));
            return;
        }
        std::thread::scope(|sc| {
            for (t, (chunk, local)) in samples
                .chunks_mut(per)
                .zip(self.locals.iter_mut())
                .enumerate()
            {
                let f = &f;
                sc.spawn(move || {
                    for (j, s) in chunk.iter_mut().enumerate() {
                        f(t * per + j, s, local);
                    }
                });
            }
        });
    }

    /// Forward pass over `cubes` (each `CUBE_LEN` values); with `labels`, also the loss and, in
    /// training mode, the backward pass.
    pub fn run(
        &mut self,
        params: &[f32],
        eps: f32,
        cubes: &[&[f32]],
        labels: Option<&[f32]>,
        mode: Mode,
    ) -> BatchResult {
        assert_eq!(params.len(), PARAM_COUNT);
        let n = cubes.len();
        while self.samples.len() < n {
            self.samples.push(Sample::sized());
        }
        let train = matches!(mode, Mode::Train { .. });
        let mut bn_stats = Vec::new();
        for b in 0..4 {
            let (e, cin, cout) = (BLOCK_EDGE[b], CHANNELS[b], CHANNELS[b + 1]);
            let t0 = block_first_tensor(b);
            let (w, bias) = (&params[span(t0)], &params[span(t0 + 1)]);
            self.par(n, |i, s, l| {
                if b == 0 {
                    s.x[0].copy_from_slice(cubes[i]);
                }
                im2col(&s.x[b], cin, e, &mut s.col[b]);
                let z = &mut l.z[..cout * e * e * e];
                conv_forward(&s.col[b], w, bias, cin, e, z);
                relu_pool_forward(z, cout, e, POOL[b], &mut s.pooled[b], &mut s.arg[b]);
            });
            let (mean, var) = if train {
                let xs: Vec<&[f32]> = self.samples[..n].iter().map(|s| &s.pooled[b][..]).collect();
                let (m, v) = bn_batch_stats(&xs, cout);
                let m: Vec<f32> = m.iter().map(|&x| x as f32).collect();
                let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
                bn_stats.push((
                    m.clone(),
                    v.clone(),
                    n * self.samples[0].pooled[b].len() / cout,
                ));
                (m, v)
            } else {
                (params[span(t0 + 4)].to_vec(), params[span(t0 + 5)].to_vec())
            };
            let (gamma, beta) = (&params[span(t0 + 2)], &params[span(t0 + 3)]);
            self.par(n, |_, s, _| {
                let Sample {
                    x,
                    pooled,
                    xhat,
                    feat,
                    ..
                } = s;
                let y = if b < 3 {
                    &mut x[b + 1][..]
                } else {
                    &mut feat[..]
                };
                bn_apply(&pooled[b], &mean, &var, gamma, beta, eps, &mut xhat[b], y);
            });
        }
        let (w1, b1) = (
            &params[span(DENSE_FIRST_TENSOR)],
            &params[span(DENSE_FIRST_TENSOR + 1)],
        );
        let (w2, b2) = (
            &params[span(DENSE_FIRST_TENSOR + 2)],
            &params[span(DENSE_FIRST_TENSOR + 3)],
        );
        self.par(n, |i, s, _| {
            dense_forward(&s.feat, w1, b1, &mut s.h);
            s.h.iter_mut().for_each(|v| *v = v.max(0.0));
            match mode {
                Mode::Train { dropout_seed } => {
                    let mut r = Rng::new(dropout_seed, i as u64);
                    let keep = 1.0 / (1.0 - DROPOUT);
                    s.mask.iter_mut().for_each(|m| {
                        *m = if r.uniform() < DROPOUT as f64 {
                            0.0
                        } else {
                            keep
                        }
                    });
                }
                Mode::Infer => s.mask.fill(1.0),
            }
            let hd: Vec<f32> = s.h.iter().zip(&s.mask).map(|(a, m)| a * m).collect();
            let mut o = [0f32];
            dense_forward(&hd, w2, b2, &mut o);
            s.logit = o[0];
        });
        let logits: Vec<f32> = self.samples[..n].iter().map(|s| s.logit).collect();
        let mut loss = 0.0;
        let mut grad = vec![0f32; PARAM_COUNT];
        if let Some(labels) = labels {
            assert_eq!(labels.len(), n);
            loss = logits
                .iter()
                .zip(labels)
                .map(|(&o, &y)| bce_with_logit(o, y).0 as f64)
                .sum::<f64>()
                / n as f64;
            if train {
                self.backward(params, eps, labels, &bn_stats, &mut grad);
            }
        }
        BatchResult {
            logits,
            loss,
            grad,
            bn_stats,
        }
    }

    fn backward(
        &mut self,
        params: &[f32],
        eps: f32,
        labels: &[f32],
        stats: &[(Vec<f32>, Vec<f32>, usize)],
        grad: &mut [f32],
    ) {
        let n = labels.len();
        self.locals.iter_mut().for_each(|l| l.grad.fill(0.0));
        let d = DENSE_FIRST_TENSOR;
        let (w1, w2) = (&params[span(d)], &params[span(d + 2)]);
        self.par(n, |i, s, l| {
            let dl = bce_with_logit(s.logit, labels[i]).1 / n as f32;
            let hd: Vec<f32> = s.h.iter().zip(&s.mask).map(|(a, m)| a * m).collect();
            let mut dhd = vec![0f32; DENSE_UNITS];
            let (g1, g2) = l.grad.split_at_mut(tensor_offset(d + 2));
            let (dw2, db2) = g2.split_at_mut(DENSE_UNITS);
            dense_backward(&hd, w2, &[dl], dw2, &mut db2[..1], Some(&mut dhd));
            for ((d, &h), &m) in dhd.iter_mut().zip(&s.h).zip(&s.mask) {
                *d *= if h > 0.0 { m } else { 0.0 };
            }
            let (dw1, db1) = g1[tensor_offset(d)..].split_at_mut(DENSE_UNITS * FEATURES);
            dense_backward(&s.feat, w1, &dhd, dw1, db1, Some(&mut s.dy[3]));
        });
        for b in (0..4).rev() {
            let (e, cin, cout) = (BLOCK_EDGE[b], CHANNELS[b], CHANNELS[b + 1]);
            let t0 = block_first_tensor(b);
            let dys: Vec<&[f32]> = self.samples[..n].iter().map(|s| &s.dy[b][..]).collect();
            let xhs: Vec<&[f32]> = self.samples[..n].iter().map(|s| &s.xhat[b][..]).collect();
            let (sdy, sdyx) = bn_grad_sums(&dys, &xhs, cout);
            for ch in 0..cout {
                grad[tensor_offset(t0 + 2) + ch] += sdyx[ch] as f32;
                grad[tensor_offset(t0 + 3) + ch] += sdy[ch] as f32;
            }
            let (_, var, m) = &stats[b];
            let (gamma, w) = (&params[span(t0 + 2)], &params[span(t0)]);
            let (sdy, sdyx, m) = (&sdy[..], &sdyx[..], *m as f64);
            self.par(n, |_, s, l| {
                let no = s.dy[b].len();
                let dp = &mut l.dp[..no];
                bn_backward_sample(&s.dy[b], &s.xhat[b], gamma, var, eps, (sdy, sdyx), m, dp);
                let dz = &mut l.z[..cout * e * e * e];
                relu_pool_backward(dp, &s.arg[b], cout, e, dz);
                let (dw, rest) = l.grad[tensor_offset(t0)..].split_at_mut(TENSORS[t0].len);
                let dcol = if b > 0 {
                    Some(&mut l.dcol[..col_rows(cin) * e * e * e])
                } else {
                    None
                };
                let has_dcol = dcol.is_some();
                conv_backward(&s.col[b], w, dz, cin, e, dw, &mut rest[..cout], dcol);
                if has_dcol {
                    col2im(
                        &l.dcol[..col_rows(cin) * e * e * e],
                        cin,
                        e,
                        &mut s.dy[b - 1],
                    );
                }
            });
        }
        for l in &self.locals {
            grad.iter_mut().zip(&l.grad).for_each(|(g, v)| *g += v);
        }
    }
}

/// Applies the Keras moving-statistics update for every batch-norm layer from a training
/// batch's statistics. The variance is Bessel-corrected (m/(m−1)) before averaging, an
/// unbiased estimate for inference.
pub fn update_moving_stats(params: &mut [f32], stats: &[(Vec<f32>, Vec<f32>, usize)]) {
    for (b, (mean, var, m)) in stats.iter().enumerate() {
        let t0 = block_first_tensor(b);
        let bessel = if *m > 1 {
            *m as f32 / (*m as f32 - 1.0)
        } else {
            1.0
        };
        let (mo, vo) = (tensor_offset(t0 + 4), tensor_offset(t0 + 5));
        for ch in 0..mean.len() {
            params[mo + ch] = BN_MOMENTUM * params[mo + ch] + (1.0 - BN_MOMENTUM) * mean[ch];
            params[vo + ch] =
                BN_MOMENTUM * params[vo + ch] + (1.0 - BN_MOMENTUM) * var[ch] * bessel;
        }
    }
}

const _: () = assert!(TENSOR_COUNT == DENSE_FIRST_TENSOR + 4);
