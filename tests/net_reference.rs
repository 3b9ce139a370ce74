//! The forward pass against an independent naive f64 implementation written from
//! spec/network.md (plain nested loops, channels-first, nothing shared with `src/net`), plus
//! SIMD-vs-scalar property tests of the kernels.
use misalign::net::forward::{logit_with, normalize_cube, Prepared, Scratch};
use misalign::net::kernels::Backend;
use misalign::net::topology::{CUBE_LEN, PARAM_COUNT, TENSORS};
use misalign::net::weights::{encode, WeightFile};

mod common;
use common::Rng;

/// An integer in [lo, hi].
fn int(rng: &mut Rng, lo: i64, hi: i64) -> i64 {
    lo + rng.below((hi - lo + 1) as usize) as i64
}

/// Random parameters, every one exactly representable in f16 (k/2^s with |k| ≤ 1024), so the
/// file's f16 rounding is the identity and the reference can use the same numbers.
fn random_params(rng: &mut Rng) -> Vec<f32> {
    let mut p = Vec::with_capacity(PARAM_COUNT);
    for t in TENSORS.iter() {
        for _ in 0..t.len {
            let v = match t.name.rsplit('.').next().unwrap() {
                // ~He-scaled: fan-in 27·CI (≤ 864) → |w| ≲ 0.1.
                "kernel" if t.name.starts_with("conv") => int(rng, -1024, 1024) as f32 / 8192.0,
                "kernel" => int(rng, -1024, 1024) as f32 / 8192.0,
                "bias" => int(rng, -256, 256) as f32 / 1024.0,
                "gamma" => int(rng, 512, 1536) as f32 / 1024.0,
                "beta" => int(rng, -512, 512) as f32 / 1024.0,
                "mean" => int(rng, 0, 1024) as f32 / 1024.0,
                "var" => int(rng, 16, 2048) as f32 / 1024.0,
                other => panic!("unknown tensor kind {other}"),
            };
            p.push(v);
        }
    }
    assert_eq!(p.len(), PARAM_COUNT);
    p
}

/// Naive reference: input x fastest then y then z; activations [c][z][y][x] in f64.
fn reference_logit(params: &[f32], eps: f64, cube: &[f32]) -> f64 {
    let mut at = 0usize;
    let mut take = |n: usize| {
        let s: Vec<f64> = params[at..at + n].iter().map(|&v| v as f64).collect();
        at += n;
        s
    };
    let chans = [1usize, 16, 16, 32, 64];
    let pools = [2usize, 2, 2, 4];
    let mut n = 32usize;
    let mut act: Vec<f64> = cube.iter().map(|&v| v as f64).collect();
    for b in 0..4 {
        let (ci, co) = (chans[b], chans[b + 1]);
        let w = take(co * ci * 27);
        let bias = take(co);
        let (gamma, beta, mean, var) = (take(co), take(co), take(co), take(co));
        // conv, same zero padding, + bias, ReLU
        let mut conv = vec![0.0f64; co * n * n * n];
        for o in 0..co {
            for z in 0..n {
                for y in 0..n {
                    for x in 0..n {
                        let mut s = bias[o];
                        for i in 0..ci {
                            for kz in 0..3 {
                                for ky in 0..3 {
                                    for kx in 0..3 {
                                        let (zz, yy, xx) = (
                                            z as i64 + kz as i64 - 1,
                                            y as i64 + ky as i64 - 1,
                                            x as i64 + kx as i64 - 1,
                                        );
                                        let nn = n as i64;
                                        if zz < 0
                                            || yy < 0
                                            || xx < 0
                                            || zz >= nn
                                            || yy >= nn
                                            || xx >= nn
                                        {
                                            continue;
                                        }
                                        let v = act[((i * n + zz as usize) * n + yy as usize) * n
                                            + xx as usize];
                                        s += w[(((o * ci + i) * 3 + kz) * 3 + ky) * 3 + kx] * v;
                                    }
                                }
                            }
                        }
                        conv[((o * n + z) * n + y) * n + x] = s.max(0.0);
                    }
                }
            }
        }
        // max pool, then batch norm
        let p = pools[b];
        let m = n / p;
        let mut next = vec![0.0f64; co * m * m * m];
        for o in 0..co {
            for z in 0..m {
                for y in 0..m {
                    for x in 0..m {
                        let mut best = f64::NEG_INFINITY;
                        for dz in 0..p {
                            for dy in 0..p {
                                for dx in 0..p {
                                    let v = conv
                                        [((o * n + z * p + dz) * n + y * p + dy) * n + x * p + dx];
                                    best = best.max(v);
                                }
                            }
                        }
                        next[((o * m + z) * m + y) * m + x] =
                            gamma[o] * (best - mean[o]) / (var[o] + eps).sqrt() + beta[o];
                    }
                }
            }
        }
        act = next;
        n = m;
    }
    assert_eq!(act.len(), 64);
    let (w1, b1, w2, b2) = (take(512 * 64), take(512), take(512), take(1));
    let mut out = b2[0];
    for j in 0..512 {
        let mut h = b1[j];
        for i in 0..64 {
            h += w1[j * 64 + i] * act[i];
        }
        out += w2[j] * h.max(0.0);
    }
    out
}

fn random_cube(rng: &mut Rng, blob: bool) -> Box<[f32; CUBE_LEN]> {
    let mut c = Box::new([0.0f32; CUBE_LEN]);
    for (k, v) in c.iter_mut().enumerate() {
        let (x, y, z) = ((k % 32) as f64, (k / 32 % 32) as f64, (k / 1024) as f64);
        let r2 = (x - 15.5).powi(2) + (y - 16.0).powi(2) + (z - 15.0).powi(2);
        let bead = if blob { -3.0 * (-r2 / 40.0).exp() } else { 0.0 };
        *v = (rng.range(-1.0, 1.0) + bead) as f32;
    }
    normalize_cube(&mut c);
    c
}

fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::scalar()];
    v.extend(Backend::avx2_fma());
    v
}

#[test]
fn forward_pass_matches_naive_f64_reference() {
    let mut rng = Rng::new(0x5EED_1234_ABCD_0001, 0);
    let mut scratch = Scratch::boxed();
    for set in 0..2 {
        let params = random_params(&mut rng);
        let eps = if set == 0 { 1e-3f32 } else { 0.0625 };
        let bytes = encode(&params, eps).unwrap();
        let wf = WeightFile::parse(&bytes).unwrap();
        assert_eq!(wf.param_count(), PARAM_COUNT);
        for (k, &v) in params.iter().enumerate() {
            assert_eq!(wf.value(k), Some(v), "f16-exact value {k} changed");
        }
        let net = Prepared::boxed(&wf);
        for c in 0..2 {
            let cube = random_cube(&mut rng, c == 1);
            let want = reference_logit(&params, eps as f64, &cube[..]);
            for &b in &backends() {
                let got = logit_with(b, &net, &cube, &mut scratch) as f64;
                let tol = 1e-5 * want.abs().max(1.0);
                assert!(
                    (got - want).abs() <= tol,
                    "set {set} cube {c} {}: ours {got}, reference {want}",
                    b.name()
                );
            }
        }
    }
}

#[test]
fn non_finite_cube_gives_nan_not_a_score() {
    let mut rng = Rng::new(7, 0);
    let params = random_params(&mut rng);
    let bytes = encode(&params, 1e-3).unwrap();
    let net = Prepared::boxed(&WeightFile::parse(&bytes).unwrap());
    let mut scratch = Scratch::boxed();
    let mut cube = random_cube(&mut rng, false);
    cube[12345] = f32::NAN;
    assert!(logit_with(Backend::scalar(), &net, &cube, &mut scratch).is_nan());
    cube[12345] = f32::INFINITY;
    assert!(misalign::net::score(&net, &cube, &mut scratch).is_nan());
}

#[test]
fn normalize_cube_gives_zero_mean_unit_sd_and_zeros_for_constant() {
    let mut rng = Rng::new(99, 0);
    let mut c = Box::new([0.0f32; CUBE_LEN]);
    for v in c.iter_mut() {
        *v = (rng.range(-1.0, 1.0) * 40.0 + 1000.0) as f32;
    }
    normalize_cube(&mut c);
    let n = CUBE_LEN as f64;
    let mean = c.iter().map(|&v| v as f64).sum::<f64>() / n;
    let sd = (c.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!(mean.abs() < 1e-5 && (sd - 1.0).abs() < 1e-5, "{mean} {sd}");
    let mut k = Box::new([3.25f32; CUBE_LEN]);
    normalize_cube(&mut k);
    assert!(k.iter().all(|&v| v == 0.0));
}

#[test]
fn backend_best_is_available_and_stable() {
    let a = Backend::best();
    assert_eq!(a, Backend::best());
    assert!(a == Backend::scalar() || Some(a) == Backend::avx2_fma());
}
