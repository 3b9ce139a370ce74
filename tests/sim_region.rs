//! Region mode of the simulator: geometry, determinism, artifacts, validation.
#![cfg(feature = "sim")]
use misalign::host::Volume;
use misalign::sim::{simulate_region, Misalignment, PhantomParams, RegionParams};

/// A clean region: beads only, no noise.
fn clean(edge: usize) -> RegionParams {
    let mut p = RegionParams {
        edge,
        phantom: PhantomParams::empty(),
        ..Default::default()
    };
    p.acquisition.snr_scale = f32::INFINITY;
    p
}

/// Centroid (f64) of the dark mass within `radius` voxels of `guess`: weights
/// max(0, −v − frac·(−vmin)).
fn dark_centroid(v: &Volume, guess: [f64; 3], radius: f64, frac: f64) -> ([f64; 3], [f64; 3]) {
    let [nx, ny, nz] = v.dims;
    let mut vmin = 0.0f64;
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let d = [
                    x as f64 - guess[0],
                    y as f64 - guess[1],
                    z as f64 - guess[2],
                ];
                if d.iter().map(|a| a * a).sum::<f64>() <= radius * radius {
                    vmin = vmin.min(v.get(x, y, z) as f64);
                }
            }
        }
    }
    let thr = frac * -vmin;
    let (mut w, mut m1, mut m2) = (0.0, [0.0; 3], [0.0; 3]);
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let p = [x as f64, y as f64, z as f64];
                let d: f64 = (0..3).map(|a| (p[a] - guess[a]).powi(2)).sum();
                if d > radius * radius {
                    continue;
                }
                let wt = (-(v.get(x, y, z) as f64) - thr).max(0.0);
                w += wt;
                for a in 0..3 {
                    m1[a] += wt * p[a];
                    m2[a] += wt * (p[a] - guess[a]).powi(2);
                }
            }
        }
    }
    ([0, 1, 2].map(|a| m1[a] / w), [0, 1, 2].map(|a| m2[a] / w))
}

#[test]
fn aligned_bead_reconstructs_at_its_true_centre() {
    let mut p = clean(48);
    p.bead_offset_px = [0.3, -0.2, 0.4];
    p.centre_in_field_a = [700.0, -300.0, 100.0];
    let (v, t) = simulate_region(&p).unwrap();
    assert_eq!(v.dims, [48; 3]);
    assert_eq!(v.voxel_size, [p.sampling_a; 3]);
    let truth = t.beads[0].centre;
    for (a, want) in [24.3, 23.8, 24.4].iter().enumerate() {
        assert!((truth[a] - want).abs() < 1e-3, "truth {truth:?}");
    }
    // The darkest voxel is at the bead, and the dark-mass centroid within 0.5 voxel of it.
    let (imin, _) = v
        .data
        .iter()
        .enumerate()
        .fold((0, f32::MAX), |a, (i, &x)| if x < a.1 { (i, x) } else { a });
    let (x, y, z) = (imin % 48, (imin / 48) % 48, imin / (48 * 48));
    assert!(
        (x as f64 - truth[0]).abs() <= 8.0
            && (y as f64 - truth[1]).abs() <= 8.0
            && (z as f64 - truth[2]).abs() <= 12.0,
        "min at {x},{y},{z}"
    );
    // Refine from the darkest voxel (which may sit on the rim's Gibbs overshoot) by iterating
    // the dark-mass centroid.
    let mut c = [x as f64, y as f64, z as f64];
    for _ in 0..8 {
        c = dark_centroid(&v, c, 10.0, 0.3).0;
    }
    for a in 0..3 {
        assert!(
            (c[a] - truth[a]).abs() < 0.5,
            "axis {a}: centroid {c:?} vs truth {truth:?}"
        );
    }
}

#[test]
fn same_seed_same_cube_other_seed_other_cube() {
    let mut p = RegionParams {
        edge: 32,
        neighbours: 2,
        ..Default::default()
    };
    p.misalignment.jitter_a = 10.0;
    let (a, ta) = simulate_region(&p).unwrap();
    let (b, tb) = simulate_region(&p).unwrap();
    assert_eq!(a, b);
    assert_eq!(ta, tb);
    p.seed = 1;
    let (c, _) = simulate_region(&p).unwrap();
    assert_ne!(a.data, c.data);
    assert!(a.data.iter().all(|v| v.is_finite()));
}

/// Second moments of the bead's dark mass grow with the banana magnitude.
#[test]
fn bananas_spread_the_bead() {
    let spread = |banana: f32| -> f64 {
        let mut p = clean(48);
        p.misalignment = Misalignment {
            banana_a: banana,
            ..Default::default()
        };
        let (v, t) = simulate_region(&p).unwrap();
        let (_, m2) = dark_centroid(&v, t.beads[0].centre, 40.0, 0.2);
        m2[0] + m2[2]
    };
    let (s0, s1, s2) = (spread(0.0), spread(40.0), spread(100.0));
    assert!(s1 > 1.3 * s0 && s2 > 1.3 * s1, "spreads {s0} {s1} {s2}");
}

#[test]
fn bad_parameters_are_errors() {
    let ok = clean(16);
    assert!(simulate_region(&ok).is_ok());
    let mut cases = Vec::new();
    let mut p = ok.clone();
    p.edge = 0;
    cases.push(p);
    let mut p = ok.clone();
    p.sampling_a = f32::NAN;
    cases.push(p);
    let mut p = ok.clone();
    p.acquisition.tilt.step_deg = 0.0;
    cases.push(p);
    let mut p = ok.clone();
    p.acquisition.tilt.min_deg = 30.0;
    p.acquisition.tilt.max_deg = -30.0;
    cases.push(p);
    let mut p = ok.clone();
    p.misalignment.banana_a = f32::INFINITY;
    cases.push(p);
    let mut p = ok.clone();
    p.bead_diameter_a = -1.0;
    cases.push(p);
    let mut p = ok.clone();
    p.acquisition.total_dose = 0.0;
    cases.push(p);
    let mut p = ok.clone();
    p.centre_in_field_a[1] = f32::NAN;
    cases.push(p);
    for (i, c) in cases.iter().enumerate() {
        assert!(simulate_region(c).is_err(), "case {i} accepted");
    }
}

/// Not a test of correctness: prints the cost of a default 64³ region (run with --ignored).
#[test]
#[ignore]
fn region_timing() {
    let p = RegionParams {
        neighbours: 2,
        ..Default::default()
    };
    simulate_region(&p).unwrap();
    let n = 20;
    let t = std::time::Instant::now();
    for s in 0..n {
        simulate_region(&RegionParams {
            seed: s,
            ..p.clone()
        })
        .unwrap();
    }
    eprintln!(
        "64³ region: {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3 / n as f64
    );
}

/// Cost split (run with --ignored --nocapture): empty phantom vs default background.
#[test]
#[ignore]
fn region_timing_split() {
    for (name, ph) in [
        ("empty", PhantomParams::empty()),
        ("default", PhantomParams::default()),
    ] {
        let p = RegionParams {
            phantom: ph,
            ..Default::default()
        };
        let n = 10;
        let c0 = cpu_s();
        let t = std::time::Instant::now();
        for s in 0..n {
            simulate_region(&RegionParams {
                seed: s,
                ..p.clone()
            })
            .unwrap();
        }
        eprintln!(
            "{name}: {:.1} ms wall, {:.1} ms CPU",
            t.elapsed().as_secs_f64() * 1e3 / n as f64,
            (cpu_s() - c0) * 1e3 / n as f64
        );
    }
}

/// CPU seconds of this process so far (utime + stime from /proc; 0 where unavailable), so
/// timings mean something on a loaded machine.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// Birds smear the bead along Y (the tilt axis), not along X.
#[test]
fn birds_stretch_along_y() {
    let moments = |bird: f32| -> [f64; 3] {
        let mut p = clean(48);
        p.misalignment.bird_a = bird;
        let (v, t) = simulate_region(&p).unwrap();
        dark_centroid(&v, t.beads[0].centre, 20.0, 0.2).1
    };
    let (a, b) = (moments(0.0), moments(40.0));
    assert!(b[1] > 1.5 * a[1], "y moment {} → {}", a[1], b[1]);
    assert!(
        b[1] - a[1] > 2.0 * (b[0] - a[0]).abs(),
        "x {:?} y {:?}",
        a,
        b
    );
}

/// A twister does nothing to a bead on the field centre and more the farther out it sits.
#[test]
fn twisters_grow_with_distance_from_the_centre() {
    let spread = |twister: f32, at: [f32; 3]| -> f64 {
        let mut p = clean(48);
        p.misalignment.twister_deg = twister;
        p.centre_in_field_a = at;
        let (v, t) = simulate_region(&p).unwrap();
        // Follow the bead to where it was reconstructed.
        let c = misalign::sim::pictures::darkest_near(&v, t.beads[0].centre, 20.0);
        let m = dark_centroid(&v, c, 20.0, 0.2).1;
        m[0] + m[1] + m[2]
    };
    let base = spread(0.0, [0.0; 3]);
    let centre = spread(2.0, [0.0; 3]);
    let near = spread(2.0, [600.0, 600.0, 0.0]);
    let far = spread(2.0, [2000.0, 2000.0, 0.0]);
    assert!(
        (centre / base - 1.0).abs() < 0.05,
        "on the axis centre {base} vs {centre}"
    );
    assert!(
        near > 1.03 * base && far > 1.1 * near,
        "{base} {near} {far}"
    );
}

/// With a CTF (plain or phase-flipped) the bead is still dark at its true centre.
#[test]
fn ctf_keeps_the_bead_dark_and_centred() {
    for flip in [false, true] {
        let mut p = clean(48);
        p.bead_offset_px = [-0.4, 0.25, 0.1];
        p.acquisition.defocus_um = Some(-4.0);
        p.acquisition.phase_flip = flip;
        let (v, t) = simulate_region(&p).unwrap();
        let truth = t.beads[0].centre;
        let c0 = truth.map(|x| x.round() as usize);
        let sd =
            (v.data.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / v.data.len() as f64).sqrt();
        assert!(
            (v.get(c0[0], c0[1], c0[2]) as f64) < -sd,
            "flip {flip}: centre not dark"
        );
        let mut c = truth.map(|x| x.round());
        for _ in 0..8 {
            c = dark_centroid(&v, c, 10.0, 0.3).0;
        }
        for a in 0..3 {
            assert!(
                (c[a] - truth[a]).abs() < 0.5,
                "flip {flip} axis {a}: {c:?} vs {truth:?}"
            );
        }
    }
}

/// Neighbours never overlap the requested bead; truths mark which are inside the cube.
#[test]
fn neighbours_keep_clear_of_the_bead() {
    let p = RegionParams {
        edge: 48,
        neighbours: 6,
        phantom: PhantomParams::empty(),
        seed: 9,
        ..Default::default()
    };
    let (_, t) = simulate_region(&p).unwrap();
    assert_eq!(t.beads.len(), 7);
    let d = p.bead_diameter_a as f64 / p.sampling_a as f64;
    for b in &t.beads[1..] {
        let dist = (0..3)
            .map(|a| (b.centre[a] - t.beads[0].centre[a]).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(dist >= 1.0 * d, "neighbour {:?} overlaps", b.centre);
        let inside = b.centre.iter().all(|&c| (0.0..=47.0).contains(&c));
        assert_eq!(inside, b.inside);
    }
    assert!(t.beads.iter().filter(|b| b.inside).count() >= 4);
}
