//! Full-tomogram mode: agreement with region mode, thread independence, validation.
#![cfg(feature = "sim")]
use misalign::sim::{
    simulate_region, simulate_tomogram, PhantomParams, RegionParams, TomogramParams,
};

fn clean_tomo() -> TomogramParams {
    let mut p = TomogramParams {
        dims: [96, 80, 48],
        sampling_a: 12.5,
        n_beads: 1,
        slab_fraction: 0.5,
        phantom: PhantomParams::empty(),
        seed: 5,
        ..Default::default()
    };
    p.acquisition.snr_scale = f32::INFINITY;
    p
}

/// Pearson correlation of two equal-length slices.
fn corr(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().map(|&v| v as f64).sum::<f64>() / n;
    let mb = b.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64 - ma, y as f64 - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    sab / (saa * sbb).sqrt()
}

/// A bead simulated in the full tomogram and as a region at the same place look alike.
#[test]
fn region_and_full_modes_agree_on_a_bead() {
    let mut p = clean_tomo();
    p.misalignment.banana_a = 30.0;
    p.misalignment.twister_deg = 1.0;
    let (vol, truth) = simulate_tomogram(&p, 2).unwrap();
    // The truth lists the field's bead (inside) and band beads outside it.
    let bead = truth
        .beads
        .iter()
        .find(|b| b.inside)
        .expect("one bead inside");
    let c = bead.centre.map(|v| v.round() as usize);
    let e = 24usize;
    let h = e / 2;
    if c[0] < h || c[1] < h || c[2] < h || c[0] + h > 96 || c[1] + h > 80 || c[2] + h > 48 {
        // The seed puts the bead near an edge; the cut-out below needs room.
        panic!("bead at {c:?} too close to an edge for this test; change the seed");
    }
    let s = p.sampling_a;
    let field = [0, 1, 2].map(|a| (c[a] as f32 - (p.dims[a] / 2) as f32) * s);
    let mut r = RegionParams {
        edge: e,
        sampling_a: s,
        centre_in_field_a: field,
        bead_offset_px: [0, 1, 2].map(|a| (bead.centre[a] - c[a] as f64) as f32),
        acquisition: p.acquisition.clone(),
        misalignment: p.misalignment.clone(),
        phantom: PhantomParams {
            slab_thickness_a: p.slab_fraction * 48.0 * s,
            ..PhantomParams::empty()
        },
        ..Default::default()
    };
    r.acquisition.snr_scale = f32::INFINITY;
    let (reg, rt) = simulate_region(&r).unwrap();
    assert!((rt.beads[0].centre[0] - (h as f64 + bead.centre[0] - c[0] as f64)).abs() < 1e-3);
    let mut cut = Vec::with_capacity(e * e * e);
    for z in 0..e {
        for y in 0..e {
            for x in 0..e {
                cut.push(vol.get(c[0] - h + x, c[1] - h + y, c[2] - h + z));
            }
        }
    }
    let r = corr(&cut, &reg.data);
    eprintln!("region/full correlation {r:.4}");
    assert!(r > 0.9, "correlation {r}");
}

#[test]
fn thread_count_does_not_change_the_result() {
    let mut p = clean_tomo();
    p.dims = [48, 40, 24];
    p.n_beads = 3;
    p.phantom = PhantomParams::default();
    p.acquisition.snr_scale = 1.0;
    p.misalignment.jitter_a = 8.0;
    let (a, ta) = simulate_tomogram(&p, 1).unwrap();
    let (b, tb) = simulate_tomogram(&p, 2).unwrap();
    let (c, _) = simulate_tomogram(&p, 3).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(ta, tb);
    assert_eq!(ta.label, "weak");
    assert!(a.data.iter().all(|v| v.is_finite()));
    let j = ta.to_json();
    assert_eq!(j["beads"].as_array().unwrap().len(), ta.beads.len());
}

#[test]
fn bad_tomogram_parameters_are_errors() {
    let ok = clean_tomo();
    let mut bad = Vec::new();
    let mut p = ok.clone();
    p.dims = [0, 10, 10];
    bad.push((p, 1));
    let mut p = ok.clone();
    p.slab_fraction = f32::NAN;
    bad.push((p, 1));
    let mut p = ok.clone();
    p.acquisition.tilt.step_deg = -3.0;
    bad.push((p, 1));
    bad.push((ok.clone(), 0));
    let mut p = ok.clone();
    p.acquisition.snr_scale = 0.0;
    bad.push((p, 1));
    for (i, (p, t)) in bad.iter().enumerate() {
        assert!(simulate_tomogram(p, *t).is_err(), "case {i} accepted");
    }
}

/// Cost of a large tomogram (run with --ignored --nocapture; set MISALIGN_SIM_DIMS=nx,ny,nz).
#[test]
#[ignore]
fn tomogram_timing() {
    let dims = std::env::var("MISALIGN_SIM_DIMS")
        .ok()
        .map(|s| {
            let v: Vec<usize> = s.split(',').map(|x| x.trim().parse().unwrap()).collect();
            [v[0], v[1], v[2]]
        })
        .unwrap_or([512, 512, 128]);
    let p = TomogramParams {
        dims,
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let (v, truth) = simulate_tomogram(&p, 2).unwrap();
    eprintln!(
        "{dims:?}: {:.2} s on 2 threads, {} beads ({} inside)",
        t.elapsed().as_secs_f64(),
        truth.beads.len(),
        truth.beads.iter().filter(|b| b.inside).count()
    );
    assert_eq!(v.dims, dims);
}
