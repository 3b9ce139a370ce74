//! Finite-difference checks of every layer's analytic gradient, on tiny random shapes, and of
//! the whole network on a small batch. Each check also proves it can fail: a gradient scaled by
//! 1.05 must be rejected by the same tolerance.
use misalign::net::topology::{tensor_offset, CUBE_LEN, PARAM_COUNT, TENSORS, TENSOR_COUNT};
use misalign::rng::Rng;
use misalign_train::layers::*;
use misalign_train::model::{init_params, Mode, Workspace};

fn rand_vec(r: &mut Rng, n: usize, s: f64) -> Vec<f32> {
    (0..n).map(|_| (r.normal() * s) as f32).collect()
}

/// Max |analytic − numeric| relative to the largest numeric component.
fn rel_err(analytic: &[f32], numeric: &[f64]) -> f64 {
    let scale = numeric.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-12);
    analytic
        .iter()
        .zip(numeric)
        .map(|(a, n)| (*a as f64 - n).abs())
        .fold(0.0, f64::max)
        / scale
}

/// Central differences of `f` w.r.t. each entry of `x` (step h).
fn numeric(x: &mut [f32], h: f32, mut f: impl FnMut(&[f32]) -> f64) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let v = x[i];
            x[i] = v + h;
            let p = f(x);
            x[i] = v - h;
            let m = f(x);
            x[i] = v;
            (p - m) / (2.0 * h as f64)
        })
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

/// Asserts the analytic gradient passes and a 5 %-wrong one fails; returns the error.
fn check(name: &str, analytic: &[f32], numeric: &[f64], tol: f64) -> f64 {
    let e = rel_err(analytic, numeric);
    let wrong: Vec<f32> = analytic.iter().map(|v| v * 1.05).collect();
    let ew = rel_err(&wrong, numeric);
    println!("{name}: max relative error {e:.2e} (a 5 % wrong gradient gives {ew:.2e})");
    assert!(e < tol, "{name}: {e} ≥ {tol}");
    assert!(ew > tol, "{name}: the check cannot tell a 5 % error ({ew})");
    e
}

#[test]
fn conv_gradients() {
    let (cin, cout, e) = (2, 3, 4);
    let n = e * e * e;
    let mut r = Rng::new(1, 0);
    let mut x = rand_vec(&mut r, cin * n, 1.0);
    let mut w = rand_vec(&mut r, cout * cin * 27, 0.3);
    let mut b = rand_vec(&mut r, cout, 0.3);
    let rw = rand_vec(&mut r, cout * n, 1.0);
    let loss = |x: &[f32], w: &[f32], b: &[f32]| {
        let mut col = vec![0f32; cin * 27 * n];
        im2col(x, cin, e, &mut col);
        let mut z = vec![0f32; cout * n];
        conv_forward(&col, w, b, cin, e, &mut z);
        dot(&z, &rw)
    };
    let mut col = vec![0f32; cin * 27 * n];
    im2col(&x, cin, e, &mut col);
    let (mut dw, mut db, mut dcol, mut dx) = (
        vec![0f32; w.len()],
        vec![0f32; cout],
        vec![0f32; col.len()],
        vec![0f32; x.len()],
    );
    conv_backward(&col, &w, &rw, cin, e, &mut dw, &mut db, Some(&mut dcol));
    col2im(&dcol, cin, e, &mut dx);
    let (w0, b0, x0) = (w.clone(), b.clone(), x.clone());
    check(
        "conv dW",
        &dw,
        &numeric(&mut w, 1e-2, |w| loss(&x0, w, &b0)),
        1e-3,
    );
    check(
        "conv dbias",
        &db,
        &numeric(&mut b, 1e-2, |b| loss(&x0, &w0, b)),
        1e-3,
    );
    check(
        "conv dx",
        &dx,
        &numeric(&mut x, 1e-2, |x| loss(x, &w0, &b0)),
        1e-3,
    );
}

/// Pre-activations with distinct values well away from 0 and from each other (no kinks).
fn spaced(r: &mut Rng, n: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..n).map(|i| (i as f32 - n as f32 * 0.4) * 0.05).collect();
    for i in (1..n).rev() {
        v.swap(i, r.below(i + 1));
    }
    v.iter()
        .map(|x| if x.abs() < 0.03 { x + 0.06 } else { *x })
        .collect()
}

#[test]
fn relu_pool_gradients() {
    for (c, e, p) in [(2usize, 4usize, 2usize), (3, 4, 4)] {
        let n = e * e * e;
        let no = (e / p).pow(3);
        let mut r = Rng::new(2, 0);
        let mut z = spaced(&mut r, c * n);
        let rw = rand_vec(&mut r, c * no, 1.0);
        let loss = |z: &[f32]| {
            let (mut o, mut a) = (vec![0f32; c * no], vec![0u32; c * no]);
            relu_pool_forward(z, c, e, p, &mut o, &mut a);
            dot(&o, &rw)
        };
        let (mut o, mut a) = (vec![0f32; c * no], vec![0u32; c * no]);
        relu_pool_forward(&z, c, e, p, &mut o, &mut a);
        let mut dz = vec![0f32; c * n];
        relu_pool_backward(&rw, &a, c, e, &mut dz);
        check(
            &format!("relu+pool{p} dz"),
            &dz,
            &numeric(&mut z, 1e-3, loss),
            1e-3,
        );
    }
}

#[test]
fn batch_norm_training_gradients() {
    let (batch, c, s, eps) = (3, 2, 8, 1e-3f32);
    let mut r = Rng::new(3, 0);
    let mut xs = rand_vec(&mut r, batch * c * s, 1.5);
    let mut gb = rand_vec(&mut r, 2 * c, 1.0);
    let rw = rand_vec(&mut r, batch * c * s, 1.0);
    let forward = |xs: &[f32], gb: &[f32]| -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let parts: Vec<&[f32]> = xs.chunks(c * s).collect();
        let (m, v) = bn_batch_stats(&parts, c);
        let m: Vec<f32> = m.iter().map(|&x| x as f32).collect();
        let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        let (mut xh, mut y) = (vec![0f32; xs.len()], vec![0f32; xs.len()]);
        for (k, p) in parts.iter().enumerate() {
            let rg = k * c * s..(k + 1) * c * s;
            bn_apply(
                p,
                &m,
                &v,
                &gb[..c],
                &gb[c..],
                eps,
                &mut xh[rg.clone()],
                &mut y[rg],
            );
        }
        (y, xh, v)
    };
    let loss = |xs: &[f32], gb: &[f32]| dot(&forward(xs, gb).0, &rw);
    let (_, xh, var) = forward(&xs, &gb);
    let dys: Vec<&[f32]> = rw.chunks(c * s).collect();
    let xhs: Vec<&[f32]> = xh.chunks(c * s).collect();
    let (sdy, sdyx) = bn_grad_sums(&dys, &xhs, c);
    let mut dx = vec![0f32; xs.len()];
    for k in 0..batch {
        let rg = k * c * s..(k + 1) * c * s;
        bn_backward_sample(
            &rw[rg.clone()],
            &xh[rg.clone()],
            &gb[..c],
            &var,
            eps,
            (&sdy, &sdyx),
            (batch * s) as f64,
            &mut dx[rg],
        );
    }
    let dgb: Vec<f32> = sdyx.iter().chain(&sdy).map(|&v| v as f32).collect();
    let (xs0, gb0) = (xs.clone(), gb.clone());
    check(
        "batch-norm dx",
        &dx,
        &numeric(&mut xs, 1e-2, |x| loss(x, &gb0)),
        2e-3,
    );
    check(
        "batch-norm dγ,dβ",
        &dgb,
        &numeric(&mut gb, 1e-2, |g| loss(&xs0, g)),
        1e-3,
    );
}

#[test]
fn dense_and_bce_gradients() {
    let (nin, nout) = (6, 5);
    let mut r = Rng::new(4, 0);
    let mut x = rand_vec(&mut r, nin, 1.0);
    let mut w = rand_vec(&mut r, nin * nout, 0.5);
    let mut b = rand_vec(&mut r, nout, 0.5);
    let rw = rand_vec(&mut r, nout, 1.0);
    let loss = |x: &[f32], w: &[f32], b: &[f32]| {
        let mut y = vec![0f32; nout];
        dense_forward(x, w, b, &mut y);
        dot(&y, &rw)
    };
    let (mut dw, mut db, mut dx) = (vec![0f32; w.len()], vec![0f32; nout], vec![0f32; nin]);
    dense_backward(&x, &w, &rw, &mut dw, &mut db, Some(&mut dx));
    let (x0, w0, b0) = (x.clone(), w.clone(), b.clone());
    check(
        "dense dW",
        &dw,
        &numeric(&mut w, 1e-2, |w| loss(&x0, w, &b0)),
        1e-3,
    );
    check(
        "dense dbias",
        &db,
        &numeric(&mut b, 1e-2, |b| loss(&x0, &w0, b)),
        1e-3,
    );
    check(
        "dense dx",
        &dx,
        &numeric(&mut x, 1e-2, |x| loss(x, &w0, &b0)),
        1e-3,
    );
    for label in [0.0, 1.0] {
        let mut o = vec![-2.5f32, -0.3, 0.0, 0.7, 3.0];
        let analytic: Vec<f32> = o.iter().map(|&v| bce_with_logit(v, label).1).collect();
        check(
            &format!("bce (y={label})"),
            &analytic,
            &numeric(&mut o, 1e-3, |o| {
                o.iter().map(|&v| bce_with_logit(v, label).0 as f64).sum()
            }),
            1e-3,
        );
    }
    // Stable far from 0: exact limits, no inf/NaN.
    assert!((bce_with_logit(100.0, 1.0).0).abs() < 1e-6);
    assert!((bce_with_logit(-100.0, 1.0).0 - 100.0).abs() < 1e-3);
    assert!(bce_with_logit(-1e4, 0.0).0.abs() < 1e-6);
}

/// The whole network on a batch of 3 cubes: analytic gradients of a few parameters of every
/// trainable tensor against central differences of the full training-mode loss. Through 32³
/// volumes, max-pool switches and ReLU kinks make finite differences of the early layers only
/// accurate to a few per cent (they converge to the analytic value as the step shrinks, until f32
/// rounding takes over), so this check is looser than the per-layer ones above.
#[test]
fn whole_network_gradients() {
    let mut r = Rng::new(5, 0);
    let mut p = init_params(9);
    // Non-trivial γ/β so their gradients are exercised.
    for (i, t) in TENSORS.iter().enumerate() {
        if t.name.ends_with("gamma") || t.name.ends_with("beta") || t.name.ends_with("bias") {
            for v in &mut p[tensor_offset(i)..tensor_offset(i) + t.len] {
                *v += (r.normal() * 0.1) as f32;
            }
        }
    }
    let cubes: Vec<Vec<f32>> = (0..3).map(|_| rand_vec(&mut r, CUBE_LEN, 1.0)).collect();
    let refs: Vec<&[f32]> = cubes.iter().map(|c| &c[..]).collect();
    let labels = [1.0, 0.0, 1.0];
    let mode = Mode::Train { dropout_seed: 77 };
    let mut ws = Workspace::new(2);
    let res = ws.run(&p, 1e-3, &refs, Some(&labels), mode);
    assert_eq!(res.grad.len(), PARAM_COUNT);
    let mut worst = 0f64;
    for (i, t) in TENSORS.iter().enumerate().take(TENSOR_COUNT) {
        if t.name.ends_with(".mean") || t.name.ends_with(".var") {
            assert!(res.grad[tensor_offset(i)..tensor_offset(i) + t.len]
                .iter()
                .all(|&g| g == 0.0));
            continue;
        }
        if t.name == "conv4.bias" {
            // Global pool then batch norm over the batch: a bias shifts every sample's feature
            // equally and the normalisation removes it, so its gradient is exactly zero.
            let g = &res.grad[tensor_offset(i)..tensor_offset(i) + t.len];
            assert!(g.iter().all(|v| v.abs() < 1e-5), "{g:?}");
            continue;
        }
        // The parameters with the largest gradients of the tensor (FD of tiny ones is noise).
        let mut idx: Vec<usize> = (tensor_offset(i)..tensor_offset(i) + t.len).collect();
        idx.sort_by(|a, b| res.grad[*b].abs().total_cmp(&res.grad[*a].abs()));
        idx.truncate(2);
        let analytic: Vec<f32> = idx.iter().map(|&k| res.grad[k]).collect();
        let num: Vec<f64> = idx
            .iter()
            .map(|&k| {
                let h = 5e-4f32;
                let v = p[k];
                let mut q = p.clone();
                q[k] = v + h;
                let lp = ws.run(&q, 1e-3, &refs, Some(&labels), mode).loss;
                q[k] = v - h;
                let lm = ws.run(&q, 1e-3, &refs, Some(&labels), mode).loss;
                (lp - lm) / (2.0 * h as f64)
            })
            .collect();
        let e = rel_err(&analytic, &num);
        println!(
            "network {}: analytic {analytic:?} numeric {num:?} rel err {e:.2e}",
            t.name
        );
        // conv1 sums over 32³ voxels per channel: the most kink crossings per finite step.
        let tol = if t.name.starts_with("conv1") {
            0.2
        } else {
            0.08
        };
        assert!(e < tol, "{}: {e} ≥ {tol}", t.name);
        worst = worst.max(e);
        let wrong: Vec<f32> = analytic.iter().map(|v| v * 1.5).collect();
        assert!(
            rel_err(&wrong, &num) > 0.2,
            "{}: cannot tell a 50 % error",
            t.name
        );
    }
    println!("whole network: worst relative error {worst:.2e}");
}
