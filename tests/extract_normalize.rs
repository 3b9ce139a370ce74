//! Cube normalisation against a naive f64 reference.
use misalign::host::extract::{
    in_xmipp_background, normalize_per_cube, normalize_xmipp, xmipp_background_mask, XMIPP_MASK_LEN,
};
use misalign::net::topology::CUBE_LEN;

fn values(n: usize, seed: u32) -> Vec<f32> {
    // A smooth-ish deterministic pattern with an offset so the statistics are not trivial.
    (0..n)
        .map(|i| {
            let t = (i as f32 * 0.37 + seed as f32).sin() * 3.0;
            t + (i % 97) as f32 * 0.01 + seed as f32
        })
        .collect()
}

#[test]
fn xmipp_mask_has_15694_voxels() {
    let m = xmipp_background_mask();
    assert_eq!(m.len(), CUBE_LEN);
    assert_eq!(m.iter().filter(|&&b| b).count(), XMIPP_MASK_LEN);
    assert_eq!(XMIPP_MASK_LEN, 15_694);
    // Independent count with a floating-point distance.
    let mut n = 0;
    for z in 0..32 {
        for y in 0..32 {
            for x in 0..32 {
                let d = ((x as f64 - 16.0).powi(2)
                    + (y as f64 - 16.0).powi(2)
                    + (z as f64 - 16.0).powi(2))
                .sqrt();
                let outside = d > 16.0;
                assert_eq!(outside, in_xmipp_background(x, y, z));
                n += outside as usize;
            }
        }
    }
    assert_eq!(n, 15_694);
    // Voxel (16, 16, 0) is exactly at distance 16: not in the mask; (0, 0, 0) is.
    assert!(!in_xmipp_background(16, 16, 0) && in_xmipp_background(0, 0, 0));
}

fn stats(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    (m, s)
}

#[test]
fn per_cube_gives_mean_zero_sd_one() {
    let mut c = values(CUBE_LEN, 4);
    normalize_per_cube(&mut c);
    let (m, s) = stats(&c.iter().map(|&v| v as f64).collect::<Vec<_>>());
    assert!(m.abs() < 1e-5 && (s - 1.0).abs() < 1e-5, "{m} {s}");
}

#[test]
fn xmipp_normalisation_matches_a_naive_reference() {
    let n = 3;
    let mut cubes: Vec<f32> = (0..n)
        .flat_map(|k| values(CUBE_LEN, 10 * k as u32 + 1))
        .collect();
    // Reference: background-shell standardisation per cube, then a global one.
    let mut r: Vec<f64> = cubes.iter().map(|&v| v as f64).collect();
    for cube in r.chunks_exact_mut(CUBE_LEN) {
        let mut bg = Vec::new();
        for z in 0..32 {
            for y in 0..32 {
                for x in 0..32 {
                    let d2 =
                        (x as i32 - 16).pow(2) + (y as i32 - 16).pow(2) + (z as i32 - 16).pow(2);
                    if d2 > 256 {
                        bg.push(cube[(z * 32 + y) * 32 + x]);
                    }
                }
            }
        }
        assert_eq!(bg.len(), 15_694);
        let (m, s) = stats(&bg);
        cube.iter_mut().for_each(|v| *v = (*v - m) / s);
    }
    let (m, s) = stats(&r);
    r.iter_mut().for_each(|v| *v = (*v - m) / s);
    normalize_xmipp(&mut cubes);
    let d = cubes
        .iter()
        .zip(&r)
        .map(|(&a, &b)| (a as f64 - b).abs())
        .fold(0.0, f64::max);
    assert!(d < 1e-5, "max deviation {d}");
    // The global step couples the cubes: scoring a cube alone gives different numbers.
    let mut alone = values(CUBE_LEN, 1);
    normalize_xmipp(&mut alone);
    assert!(alone
        .iter()
        .zip(&cubes[..CUBE_LEN])
        .any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn constant_and_empty_inputs_do_not_produce_nan() {
    let mut c = vec![-2.0f32; 2 * CUBE_LEN];
    normalize_xmipp(&mut c);
    assert!(c.iter().all(|&v| v == 0.0));
    let mut e: Vec<f32> = Vec::new();
    normalize_xmipp(&mut e);
    normalize_per_cube(&mut e);
    // A constant background with a different centre: the per-cube SD is 0, still finite.
    let mut c = vec![1.0f32; CUBE_LEN];
    c[(16 * 32 + 16) * 32 + 16] = -5.0;
    normalize_xmipp(&mut c);
    assert!(c.iter().all(|v| v.is_finite()));
}
