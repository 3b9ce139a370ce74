//! The detector's no_std kernels against independent naive f64 references.
use misalign::detect::bandpass::{gain, BandPass, Fft, MicroFft};
use misalign::detect::{label, profile, Complex32};
use misalign::host::detector::RustFft;

mod common;
use common::Rng;

fn run_bp<F: Fft>(bp: &BandPass, a: &[f32], b: &[f32], fft: &mut F) -> (Vec<f32>, Vec<f32>) {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    let mut scratch = vec![Complex32::new(0.0, 0.0); bp.scratch_len()];
    bp.apply_pair(&mut a, Some(&mut b), &mut scratch, fft)
        .unwrap();
    (a, b)
}

#[test]
fn microfft_and_rustfft_band_passes_agree() {
    let (nx, ny) = (200, 150);
    let mut rng = Rng::new(5, 0);
    let a: Vec<f32> = (0..nx * ny)
        .map(|_| (rng.uniform() * 4.0 - 2.0) as f32)
        .collect();
    let b: Vec<f32> = (0..nx * ny)
        .map(|_| (rng.uniform() * 10.0 + 100.0) as f32)
        .collect();
    let bp = BandPass::new(nx, ny, 8.0, 0.02).unwrap();
    let (ma, mb) = run_bp(&bp, &a, &b, &mut MicroFft);
    let (ra, rb) = run_bp(&bp, &a, &b, &mut RustFft::default());
    let worst = ma
        .iter()
        .zip(&ra)
        .chain(mb.iter().zip(&rb))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    eprintln!("microfft vs rustfft: max |Δ| = {worst:e}");
    assert!(worst <= 1e-4);
}

/// Naive f64 reference: subtract the mean, zero-pad to n × m, full 2D DFT, gain, inverse DFT.
fn reference(s: &[f32], nx: usize, ny: usize, bp: &BandPass) -> Vec<f64> {
    let (n, m) = (bp.n, bp.m);
    let mean = s.iter().map(|&v| v as f64).sum::<f64>() / s.len() as f64;
    let mut img = vec![0.0f64; n * m];
    for y in 0..ny {
        for x in 0..nx {
            img[y * n + x] = s[y * nx + x] as f64 - mean;
        }
    }
    let tau = 2.0 * std::f64::consts::PI;
    let freq = |i: usize, len: usize| {
        if i <= len / 2 {
            i as f64 / len as f64
        } else {
            (i as f64 - len as f64) / len as f64
        }
    };
    let mut spec = vec![(0.0f64, 0.0f64); n * m];
    for v in 0..m {
        for u in 0..n {
            let (mut re, mut im) = (0.0, 0.0);
            for y in 0..m {
                for x in 0..n {
                    let ph =
                        -tau * (u as f64 * x as f64 / n as f64 + v as f64 * y as f64 / m as f64);
                    re += img[y * n + x] * ph.cos();
                    im += img[y * n + x] * ph.sin();
                }
            }
            let (fx, fy) = (freq(u, n), freq(v, m));
            let g = gain(((fx * fx + fy * fy).sqrt()) as f32, bp.fl, bp.fh, bp.w) as f64;
            spec[v * n + u] = (re * g, im * g);
        }
    }
    let mut out = vec![0.0f64; nx * ny];
    for y in 0..ny {
        for x in 0..nx {
            let mut re = 0.0;
            for v in 0..m {
                for u in 0..n {
                    let ph =
                        tau * (u as f64 * x as f64 / n as f64 + v as f64 * y as f64 / m as f64);
                    let (a, b) = spec[v * n + u];
                    re += a * ph.cos() - b * ph.sin();
                }
            }
            out[y * nx + x] = re / (n * m) as f64;
        }
    }
    out
}

#[test]
fn band_pass_matches_a_naive_dft_reference() {
    let (nx, ny) = (14, 11);
    let mut rng = Rng::new(9, 0);
    let a: Vec<f32> = (0..nx * ny).map(|_| rng.uniform() as f32).collect();
    let b: Vec<f32> = (0..nx * ny).map(|_| (rng.uniform() * 3.0) as f32).collect();
    let bp = BandPass::new(nx, ny, 4.0, 0.05).unwrap();
    let (fa, fb) = run_bp(&bp, &a, &b, &mut MicroFft);
    let (ea, eb) = (reference(&a, nx, ny, &bp), reference(&b, nx, ny, &bp));
    for i in 0..nx * ny {
        assert!(
            (fa[i] as f64 - ea[i]).abs() < 1e-5,
            "a[{i}]: {} vs {}",
            fa[i],
            ea[i]
        );
        assert!(
            (fb[i] as f64 - eb[i]).abs() < 1e-5,
            "b[{i}]: {} vs {}",
            fb[i],
            eb[i]
        );
    }
}

/// Brute-force minimum enclosing circle radius of a point set (pairs and triples).
fn brute_mec(pts: &[(f64, f64)]) -> f64 {
    if pts.len() < 2 {
        return 0.0;
    }
    let covers = |c: (f64, f64), r: f64| {
        pts.iter()
            .all(|p| ((p.0 - c.0).powi(2) + (p.1 - c.1).powi(2)).sqrt() <= r + 1e-9)
    };
    let mut best = f64::INFINITY;
    for i in 0..pts.len() {
        for j in i + 1..pts.len() {
            let c = ((pts[i].0 + pts[j].0) / 2.0, (pts[i].1 + pts[j].1) / 2.0);
            let r = ((pts[i].0 - c.0).powi(2) + (pts[i].1 - c.1).powi(2)).sqrt();
            if r < best && covers(c, r) {
                best = r;
            }
            for k in j + 1..pts.len() {
                let (a, b, cc) = (pts[i], pts[j], pts[k]);
                let d = 2.0 * (a.0 * (b.1 - cc.1) + b.0 * (cc.1 - a.1) + cc.0 * (a.1 - b.1));
                if d.abs() < 1e-12 {
                    continue;
                }
                let (a2, b2, c2) = (
                    a.0 * a.0 + a.1 * a.1,
                    b.0 * b.0 + b.1 * b.1,
                    cc.0 * cc.0 + cc.1 * cc.1,
                );
                let c = (
                    (a2 * (b.1 - cc.1) + b2 * (cc.1 - a.1) + c2 * (a.1 - b.1)) / d,
                    (a2 * (cc.0 - b.0) + b2 * (a.0 - cc.0) + c2 * (b.0 - a.0)) / d,
                );
                let r = ((a.0 - c.0).powi(2) + (a.1 - c.1).powi(2)).sqrt();
                if r < best && covers(c, r) {
                    best = r;
                }
            }
        }
    }
    best
}

#[test]
fn labelling_matches_a_hand_made_mask() {
    // '#' = dark (below threshold). Components in raster order of first pixel:
    // 1: the 3×3 block (touching diagonally the single pixel → same component),
    // 2: the horizontal bar, 3: the plus sign.
    let art = [
        "###.......",
        "###.....#.",
        "###....###",
        "...#....#.",
        "..........",
        "#####.....",
    ];
    let (nx, ny) = (art[0].len(), art.len());
    let vals: Vec<f32> = art
        .iter()
        .flat_map(|r| r.chars().map(|c| if c == '#' { -1.0 } else { 0.0 }))
        .collect();
    let mut labels = vec![0u32; label::buffer_len(nx, ny)];
    let mut queue = vec![0u32; label::buffer_len(nx, ny)];
    let mut regions = Vec::new();
    let n = label::label_regions(&vals, nx, ny, -0.5, 1, &mut labels, &mut queue, |r| {
        regions.push(*r)
    })
    .unwrap();
    assert_eq!(n, 3);
    let areas: Vec<usize> = regions.iter().map(|r| r.area).collect();
    assert_eq!(areas, vec![10, 5, 5]);
    // Block + diagonal pixel: Σx = 3·(0+1+2) + 3 = 12, Σy = 3·(0+1+2) + 3 = 12 → (1.2, 1.2).
    assert!((regions[0].cx - 1.2).abs() < 1e-12 && (regions[0].cy - 1.2).abs() < 1e-12);
    assert_eq!((regions[1].cx, regions[1].cy), (8.0, 2.0));
    assert_eq!((regions[2].cx, regions[2].cy), (2.0, 5.0));
    assert_eq!(labels[0], 1);
    assert_eq!(labels[3 * nx + 3], 1);
    assert_eq!(labels[nx + 8], 2);
    assert_eq!(labels[5 * nx], 3);
    // Circularity = area / (π r²) with r the minimum enclosing circle of the pixel centres.
    let plus = &regions[1];
    assert!((plus.mec_radius - 1.0).abs() < 1e-12);
    assert!((plus.circularity - 5.0 / std::f64::consts::PI).abs() < 1e-12);
    assert!((regions[2].mec_radius - 2.0).abs() < 1e-12);
    // Small regions below min_area skip the circle.
    let mut small = Vec::new();
    label::label_regions(&vals, nx, ny, -0.5, 6, &mut labels, &mut queue, |r| {
        small.push(*r)
    })
    .unwrap();
    assert_eq!(small[1].mec_radius, 0.0);
    assert!(small[0].mec_radius > 0.0);
}

#[test]
fn minimum_enclosing_circle_matches_brute_force() {
    let mut rng = Rng::new(77, 0);
    let nx = 40;
    for _ in 0..200 {
        let k = 2 + (rng.uniform() * 25.0) as usize;
        let mut idx: Vec<u32> = (0..k)
            .map(|_| (rng.uniform() * (nx * 30) as f64) as u32)
            .collect();
        idx.sort();
        idx.dedup();
        let pts: Vec<(f64, f64)> = idx
            .iter()
            .map(|&p| ((p as usize % nx) as f64, (p as usize / nx) as f64))
            .collect();
        let want = brute_mec(&pts);
        let got = label::min_enclosing_radius(&mut idx, nx);
        assert!((got - want).abs() < 1e-9, "{pts:?}: {got} vs {want}");
    }
}

#[test]
fn mahalanobis_distances_have_the_closed_form_properties() {
    let mut rng = Rng::new(3, 0);
    for n in [4usize, 6, 20, 57] {
        let bins = 16;
        let p: Vec<f64> = (0..n * bins)
            .map(|i| rng.uniform() + 0.1 * (i % bins) as f64)
            .collect();
        let mut d = vec![0.0; n];
        profile::mahalanobis(&p, bins, &mut d).unwrap();
        let mean_d2 = d.iter().map(|x| x * x).sum::<f64>() / n as f64;
        assert!((mean_d2 - 2.0).abs() < 1e-9, "n = {n}: mean d² = {mean_d2}");
        assert!(d.iter().all(|x| x * x <= (n - 1) as f64 + 1e-9));
        // Same distances from a naive reference: project on the top-2 eigenvectors found by
        // power iteration with deflation.
        let mean: Vec<f64> = (0..bins)
            .map(|j| (0..n).map(|i| p[i * bins + j]).sum::<f64>() / n as f64)
            .collect();
        let mut cov = vec![0.0; bins * bins];
        for i in 0..n {
            for a in 0..bins {
                for b in 0..bins {
                    cov[a * bins + b] +=
                        (p[i * bins + a] - mean[a]) * (p[i * bins + b] - mean[b]) / n as f64;
                }
            }
        }
        let mut vecs = Vec::new();
        for _ in 0..2 {
            let mut v = vec![1.0; bins];
            let mut lambda = 0.0;
            for _ in 0..5000 {
                let mut w: Vec<f64> = (0..bins)
                    .map(|a| (0..bins).map(|b| cov[a * bins + b] * v[b]).sum())
                    .collect();
                let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
                w.iter_mut().for_each(|x| *x /= norm);
                lambda = norm;
                v = w;
            }
            for a in 0..bins {
                for b in 0..bins {
                    cov[a * bins + b] -= lambda * v[a] * v[b];
                }
            }
            vecs.push((lambda, v));
        }
        for i in 0..n {
            let d2: f64 = vecs
                .iter()
                .map(|(l, v)| {
                    (0..bins)
                        .map(|j| (p[i * bins + j] - mean[j]) * v[j])
                        .sum::<f64>()
                        .powi(2)
                        / l
                })
                .sum();
            assert!(
                (d2.sqrt() - d[i]).abs() < 1e-5 * (1.0 + d[i]),
                "n {n} i {i}: {} vs {}",
                d2.sqrt(),
                d[i]
            );
        }
    }
    let mut d = vec![1.0; 2];
    profile::mahalanobis(&[1.0, 2.0, 3.0, 4.0], 2, &mut d).unwrap();
    assert_eq!(d, vec![0.0, 0.0]);
}
