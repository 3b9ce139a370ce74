//! Training-loop properties: determinism, exact resumption from a checkpoint, a tiny overfit,
//! and the inference-mode forward against a naive f64 reference written independently here.
use misalign::net::topology::*;
use misalign::rng::Rng;
use misalign_train::checkpoint::Checkpoint;
use misalign_train::data::{generate, Task};
use misalign_train::layers::sigmoid;
use misalign_train::model::{init_params, Mode, Workspace};
use misalign_train::train::{fresh_state, run_steps, TrainConfig};

fn cfg(batch: usize, lr: f32) -> TrainConfig {
    TrainConfig {
        task: Task::Strong,
        seed: 11,
        batch,
        threads: 2,
        lr,
        steps: 100,
        steps_per_epoch: 10,
        checkpoint_every_s: 1e9,
        max_minutes: None,
        checkpoint: std::env::temp_dir().join("unused.ckpt"),
        init: None,
    }
}

#[test]
fn same_seed_same_first_steps_and_resume_is_exact() {
    let ds = generate(3, 10, 2);
    let c = cfg(4, 1e-3);
    let mut ws = Workspace::new(2);
    let mut a = fresh_state(&c);
    let mut b = fresh_state(&c);
    assert_eq!(a, b);
    let la = run_steps(&c, &ds, &mut ws, &mut a, 2);
    let lb = run_steps(&c, &ds, &mut ws, &mut b, 1);
    assert_eq!(la[0], lb[0], "same seed, same first loss");
    // Interrupt b after one step: through bytes and back, then continue.
    let mut b = Checkpoint::from_bytes(&b.to_bytes(), "test").unwrap();
    let lb2 = run_steps(&c, &ds, &mut ws, &mut b, 2);
    assert_eq!(la[1], lb2[0]);
    assert_eq!(a, b, "resumed run equals the uninterrupted one bit for bit");
    // A different seed gives a different start.
    let mut c2 = cfg(4, 1e-3);
    c2.seed = 12;
    assert_ne!(fresh_state(&c2).params, a.params);
    // Corrupt checkpoints are errors, not panics.
    let bytes = a.to_bytes();
    assert!(Checkpoint::from_bytes(&bytes[..bytes.len() - 3], "cut").is_err());
    assert!(Checkpoint::from_bytes(b"garbage", "junk").is_err());
}

#[test]
fn a_few_steps_on_eight_cubes_reduce_the_loss() {
    let ds = generate(4, 10, 2);
    let c = cfg(8, 2e-3);
    let mut ws = Workspace::new(2);
    let mut s = fresh_state(&c);
    let losses = run_steps(&c, &ds, &mut ws, &mut s, 16);
    let first: f64 = losses[..3].iter().sum::<f64>() / 3.0;
    let last: f64 = losses[13..].iter().sum::<f64>() / 3.0;
    println!("losses {losses:?}");
    assert!(last < 0.6 * first, "first {first} last {last}");
}

/// Naive f64 inference forward written from the spec, sharing no code with the trainer.
fn reference_logit(p: &[f32], eps: f64, cube: &[f32]) -> f64 {
    let t = |i: usize| -> Vec<f64> {
        p[tensor_offset(i)..tensor_offset(i) + TENSORS[i].len]
            .iter()
            .map(|&v| v as f64)
            .collect()
    };
    let mut x: Vec<f64> = cube.iter().map(|&v| v as f64).collect();
    for b in 0..4 {
        let (e, cin, cout, pool) = (
            BLOCK_EDGE[b] as i64,
            CHANNELS[b],
            CHANNELS[b + 1],
            POOL[b] as i64,
        );
        let (w, bias, g, be, mu, var) = (
            t(6 * b),
            t(6 * b + 1),
            t(6 * b + 2),
            t(6 * b + 3),
            t(6 * b + 4),
            t(6 * b + 5),
        );
        let eu = e as usize;
        let mut y = vec![0f64; cout * eu * eu * eu];
        for co in 0..cout {
            for z in 0..e {
                for yy in 0..e {
                    for xx in 0..e {
                        let mut acc = bias[co];
                        for ci in 0..cin {
                            for kz in 0..3 {
                                for ky in 0..3 {
                                    for kx in 0..3 {
                                        let (sz, sy, sx) = (z + kz - 1, yy + ky - 1, xx + kx - 1);
                                        if sz < 0
                                            || sy < 0
                                            || sx < 0
                                            || sz >= e
                                            || sy >= e
                                            || sx >= e
                                        {
                                            continue;
                                        }
                                        let wi = (((co * cin + ci) * 3 + kz as usize) * 3
                                            + ky as usize)
                                            * 3
                                            + kx as usize;
                                        acc += w[wi]
                                            * x[ci * eu * eu * eu
                                                + ((sz * e + sy) * e + sx) as usize];
                                    }
                                }
                            }
                        }
                        y[co * eu * eu * eu + ((z * e + yy) * e + xx) as usize] = acc.max(0.0);
                    }
                }
            }
        }
        let eo = e / pool;
        let eou = eo as usize;
        let mut out = vec![0f64; cout * eou * eou * eou];
        for co in 0..cout {
            for z in 0..eo {
                for yy in 0..eo {
                    for xx in 0..eo {
                        let mut m = f64::NEG_INFINITY;
                        for dz in 0..pool {
                            for dy in 0..pool {
                                for dx in 0..pool {
                                    let i = (((z * pool + dz) * e + yy * pool + dy) * e
                                        + xx * pool
                                        + dx) as usize;
                                    m = m.max(y[co * eu * eu * eu + i]);
                                }
                            }
                        }
                        let o = co * eou * eou * eou + ((z * eo + yy) * eo + xx) as usize;
                        out[o] = g[co] * (m - mu[co]) / (var[co] + eps).sqrt() + be[co];
                    }
                }
            }
        }
        x = out;
    }
    let (w1, b1, w2, b2) = (t(24), t(25), t(26), t(27));
    let h: Vec<f64> = (0..DENSE_UNITS)
        .map(|o| {
            (b1[o]
                + (0..FEATURES)
                    .map(|i| w1[o * FEATURES + i] * x[i])
                    .sum::<f64>())
            .max(0.0)
        })
        .collect();
    b2[0] + (0..DENSE_UNITS).map(|i| w2[i] * h[i]).sum::<f64>()
}

#[test]
fn inference_forward_matches_a_naive_f64_reference() {
    let mut r = Rng::new(8, 0);
    let mut p = init_params(21);
    // Non-trivial moving statistics and affine parameters.
    for b in 0..4 {
        for k in 2..6 {
            let i = 6 * b + k;
            for v in &mut p[tensor_offset(i)..tensor_offset(i) + TENSORS[i].len] {
                *v = match k {
                    2 => 1.0 + 0.2 * r.normal() as f32,
                    5 => 0.5 + r.uniform() as f32,
                    _ => 0.2 * r.normal() as f32,
                };
            }
        }
    }
    let cubes: Vec<Vec<f32>> = (0..2)
        .map(|_| (0..CUBE_LEN).map(|_| r.normal() as f32).collect())
        .collect();
    let refs: Vec<&[f32]> = cubes.iter().map(|c| &c[..]).collect();
    let res = Workspace::new(2).run(&p, 1e-3, &refs, None, Mode::Infer);
    for (c, &o) in cubes.iter().zip(&res.logits) {
        let want = reference_logit(&p, 1e-3, c);
        println!("trainer {o} reference {want}");
        assert!(
            (o as f64 - want).abs() < 1e-4 * (1.0 + want.abs()),
            "{o} vs {want}"
        );
        assert!((sigmoid(o as f64) - sigmoid(want)).abs() < 1e-5);
    }
}
