//! The training loop: balanced batches, Adam, periodic validation, atomic checkpoints and
//! resumption that reproduces an uninterrupted run.
use std::path::PathBuf;
use std::time::Instant;

use misalign::host::Result;
use misalign::net::topology::{CUBE_LEN, DEFAULT_BN_EPSILON, PARAM_COUNT};

use crate::adam::Adam;
use crate::checkpoint::Checkpoint;
use crate::data::{augment, Class, Dataset, Kind, Sampler, Task, KIND_NAMES};
use crate::layers::sigmoid;
use crate::model::{init_params, trainable_mask, update_moving_stats, Mode, Workspace};
use misalign::rng::{derive, Rng};

/// Batch-norm ε used in training and stored in exported weight files.
pub const EPS: f32 = DEFAULT_BN_EPSILON;

/// Settings of one network's training.
pub struct TrainConfig {
    pub task: Task,
    pub seed: u64,
    pub batch: usize,
    pub threads: usize,
    pub lr: f32,
    /// Total optimiser steps.
    pub steps: u64,
    /// Steps between validations (an "epoch" of the log).
    pub steps_per_epoch: u64,
    /// Seconds between checkpoints inside an epoch.
    pub checkpoint_every_s: f64,
    /// Stop early after this many minutes of this call (breaks exact reproducibility; logged).
    pub max_minutes: Option<f64>,
    pub checkpoint: PathBuf,
    /// Starting parameters (the weak network starts from the strong one); None = fresh init.
    pub init: Option<Vec<f32>>,
}

/// Called after every checkpoint with the parameters (and the validation metrics at epoch ends).
pub type SaveHook<'a> = dyn FnMut(&[f32], Option<&Metrics>) -> Result<()> + 'a;

/// Validation numbers of one network.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub loss: f64,
    pub accuracy: f64,
    /// (class, kind, count, fraction classified correctly at 0.5).
    pub groups: Vec<(Class, Kind, usize, f64)>,
}

impl Metrics {
    /// One-line summary per group.
    pub fn describe(&self) -> String {
        let mut s = format!("loss {:.4} acc {:.4}", self.loss, self.accuracy);
        for (c, k, n, a) in &self.groups {
            s += &format!(" | {:?}/{} {:.3} (n={n})", c, KIND_NAMES[*k as usize], a);
        }
        s
    }
}

/// Scores (inference mode) every item of `ds` relevant to `task` and summarises.
pub fn evaluate(
    params: &[f32],
    ws: &mut Workspace,
    ds: &Dataset,
    task: Task,
    batch: usize,
) -> Metrics {
    let items: Vec<usize> = (0..ds.len())
        .filter(|&i| task.label(ds.class[i]).is_some())
        .collect();
    let mut bufs = vec![vec![0f32; CUBE_LEN]; batch];
    let mut m = Metrics::default();
    let mut correct_by: Vec<((Class, Kind), usize, usize)> = Vec::new();
    let mut correct = 0usize;
    for chunk in items.chunks(batch) {
        for (k, &i) in chunk.iter().enumerate() {
            ds.cube(i, &mut bufs[k]);
        }
        let refs: Vec<&[f32]> = bufs[..chunk.len()].iter().map(|b| &b[..]).collect();
        let labels: Vec<f32> = chunk
            .iter()
            .map(|&i| task.label(ds.class[i]).unwrap_or(0.0))
            .collect();
        let res = ws.run(params, EPS, &refs, Some(&labels), Mode::Infer);
        m.loss += res.loss * chunk.len() as f64;
        for ((&i, &o), &y) in chunk.iter().zip(&res.logits).zip(&labels) {
            let ok = (sigmoid(o as f64) > 0.5) == (y > 0.5);
            correct += ok as usize;
            let key = (ds.class[i], ds.kind[i]);
            match correct_by.iter_mut().find(|g| g.0 == key) {
                Some(g) => {
                    g.1 += 1;
                    g.2 += ok as usize;
                }
                None => correct_by.push((key, 1, ok as usize)),
            }
        }
    }
    let n = items.len().max(1) as f64;
    m.loss /= n;
    m.accuracy = correct as f64 / n;
    correct_by.sort_by_key(|g| (g.0 .0 as u8, g.0 .1 as u8));
    m.groups = correct_by
        .into_iter()
        .map(|((c, k), n, ok)| (c, k, n, ok as f64 / n as f64))
        .collect();
    m
}

/// A fresh training state for `cfg`.
pub fn fresh_state(cfg: &TrainConfig) -> Checkpoint {
    Checkpoint {
        step: 0,
        rng: Rng::new(cfg.seed, 0xBA7C),
        params: cfg
            .init
            .clone()
            .unwrap_or_else(|| init_params(derive(&[cfg.seed, 0x1417]))),
        adam: Adam::new(PARAM_COUNT, cfg.lr),
    }
}

/// Runs optimiser steps from `state` until `upto` steps are done (no validation, no files):
/// the deterministic core used by [`train`] and the tests. Returns the mean loss per step.
pub fn run_steps(
    cfg: &TrainConfig,
    ds: &Dataset,
    ws: &mut Workspace,
    state: &mut Checkpoint,
    upto: u64,
) -> Vec<f64> {
    let sampler = Sampler::new(ds, cfg.task, cfg.batch);
    let mask = trainable_mask();
    let mut tmp = vec![0f32; CUBE_LEN];
    let mut bufs = vec![vec![0f32; CUBE_LEN]; cfg.batch];
    let mut losses = Vec::new();
    while state.step < upto {
        let picks = sampler.batch(&mut state.rng);
        let mut labels = Vec::with_capacity(picks.len());
        for (k, &(i, flips)) in picks.iter().enumerate() {
            ds.cube(i, &mut tmp);
            augment(&tmp, flips, &mut bufs[k]);
            labels.push(cfg.task.label(ds.class[i]).unwrap_or(0.0));
        }
        let refs: Vec<&[f32]> = bufs.iter().map(|b| &b[..]).collect();
        let mode = Mode::Train {
            dropout_seed: derive(&[cfg.seed, 0xD0, state.step]),
        };
        let res = ws.run(&state.params, EPS, &refs, Some(&labels), mode);
        update_moving_stats(&mut state.params, &res.bn_stats);
        state.adam.step(&mut state.params, &res.grad, &mask);
        state.step += 1;
        losses.push(res.loss);
    }
    losses
}

/// Trains one network. `resume` continues from the checkpoint file when it exists; `on_save` is
/// called with the parameters after every checkpoint (used to export weight files).
pub fn train(
    cfg: &TrainConfig,
    ds: &Dataset,
    val: &Dataset,
    resume: bool,
    on_save: &mut SaveHook<'_>,
) -> Result<(Vec<f32>, Metrics)> {
    let mut state = if resume && cfg.checkpoint.exists() {
        let s = Checkpoint::load(&cfg.checkpoint)?;
        println!("resuming {} at step {}", cfg.checkpoint.display(), s.step);
        s
    } else {
        fresh_state(cfg)
    };
    let mut ws = Workspace::new(cfg.threads);
    let start = Instant::now();
    let mut last_save = Instant::now();
    let mut last_metrics = None;
    while state.step < cfg.steps {
        if let Some(mm) = cfg.max_minutes {
            if start.elapsed().as_secs_f64() > mm * 60.0 {
                println!(
                    "time budget of {mm} min reached at step {}; stopping early",
                    state.step
                );
                break;
            }
        }
        let epoch_end = ((state.step / cfg.steps_per_epoch) + 1) * cfg.steps_per_epoch;
        let t0 = Instant::now();
        let first = state.step;
        let mut losses = Vec::new();
        // Train in short slices so time-based checkpoints happen inside an epoch.
        while state.step < epoch_end.min(cfg.steps) {
            let upto = (state.step + 10).min(epoch_end).min(cfg.steps);
            losses.extend(run_steps(cfg, ds, &mut ws, &mut state, upto));
            if last_save.elapsed().as_secs_f64() > cfg.checkpoint_every_s {
                state.save(&cfg.checkpoint)?;
                on_save(&state.params, None)?;
                last_save = Instant::now();
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        let rate = (state.step - first) as f64 * cfg.batch as f64 / secs.max(1e-9);
        let mean = losses.iter().sum::<f64>() / losses.len().max(1) as f64;
        let m = evaluate(&state.params, &mut ws, val, cfg.task, cfg.batch);
        println!(
            "[{:?}] epoch {} step {} train loss {:.4} ({:.1} samples/s) | val {}",
            cfg.task,
            state.step.div_ceil(cfg.steps_per_epoch),
            state.step,
            mean,
            rate,
            m.describe()
        );
        state.save(&cfg.checkpoint)?;
        on_save(&state.params, Some(&m))?;
        last_save = Instant::now();
        last_metrics = Some(m);
    }
    let m = match last_metrics {
        Some(m) => m,
        None => evaluate(&state.params, &mut ws, val, cfg.task, cfg.batch),
    };
    Ok((state.params, m))
}
