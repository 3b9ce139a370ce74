//! Pictures of each artifact for a human to look at (run with --ignored; writes to
//! $MISALIGN_PNG_DIR or the temp dir). Not a pass/fail test.
#![cfg(feature = "sim")]
use misalign::sim::{
    pictures::{darkest_near, write_slices},
    simulate_region, Misalignment, RegionParams,
};

#[test]
#[ignore]
fn artifact_pictures() {
    let dir = std::env::var("MISALIGN_PNG_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("misalign-sim-png"));
    let none = Misalignment::default();
    let cases = [
        ("aligned", none.clone()),
        (
            "banana",
            Misalignment {
                banana_a: 80.0,
                ..none.clone()
            },
        ),
        (
            "twister",
            Misalignment {
                twister_deg: 3.0,
                ..none.clone()
            },
        ),
        (
            "bird",
            Misalignment {
                bird_a: 40.0,
                ..none.clone()
            },
        ),
        (
            "jitter",
            Misalignment {
                jitter_a: 25.0,
                ..none.clone()
            },
        ),
    ];
    for clean in [true, false] {
        for (name, m) in &cases {
            let mut p = RegionParams {
                edge: 96,
                misalignment: m.clone(),
                seed: 3,
                ..Default::default()
            };
            // Twisters need a region away from the field centre.
            p.centre_in_field_a = [1500.0, 1500.0, 0.0];
            if clean {
                p.phantom = misalign::sim::PhantomParams::empty();
                p.acquisition.snr_scale = f32::INFINITY;
            }
            let (v, t) = simulate_region(&p).unwrap();
            let stem = format!("{}{name}", if clean { "clean_" } else { "" });
            write_slices(
                &v,
                darkest_near(&v, t.beads[0].centre, 30.0),
                &dir,
                &stem,
                3,
            )
            .unwrap();
        }
    }
    // The CTF: plain (dark bead with fringes) and phase-flipped.
    for (name, flip) in [("ctf", false), ("ctf_flipped", true)] {
        let mut p = RegionParams {
            edge: 96,
            seed: 3,
            ..Default::default()
        };
        p.acquisition.defocus_um = Some(-4.0);
        p.acquisition.phase_flip = flip;
        p.acquisition.snr_scale = 3.0;
        let (v, t) = simulate_region(&p).unwrap();
        write_slices(&v, darkest_near(&v, t.beads[0].centre, 30.0), &dir, name, 3).unwrap();
    }
    eprintln!("pictures in {}", dir.display());
}
