//! The whole `analyze` pipeline (detector or given positions → cubes → both networks →
//! verdict) on a small synthetic tomogram with fuzzed dims, sampling, bead size, positions and
//! settings. Results must be consistent (every bead scored or skipped, scores in 0 … 1, no
//! verdict without beads), progress must be well-behaved and a cancellation must stop the run.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use misalign::decide::{Criterion, Verdict};
use misalign::host::check::{analyze, CheckParams};
use misalign::host::detector::{DetectorParams, ThresholdMode};
use misalign::host::extract::{BorderPolicy, Normalization};
use misalign::host::networks::Networks;
use misalign::host::{Acquisition, Error, Volume};
use misalign::net::topology::CUBE_LEN;
use misalign_fuzz::{bead_diameter_a, positions, sampling_a, ProgressLog, SynthVolume};

fn networks() -> &'static Networks {
    static NETS: OnceLock<Networks> = OnceLock::new();
    NETS.get_or_init(|| Networks::baked().expect("built-in networks"))
}

fn detector(u: &mut Unstructured<'_>) -> Result<DetectorParams> {
    Ok(DetectorParams {
        box_size: u.int_in_range(0..=80)?,
        number_samp_slices: u.int_in_range(0..=60)?,
        sd_thr: f64::from(u.int_in_range(-20i8..=80)?) / 10.0,
        min_area: u.int_in_range(0..=60)?,
        mirror_corr_thr: f64::from(u.int_in_range(-10i8..=10)?) / 10.0,
        mahalanobis_thr: f64::from(u.int_in_range(-10i8..=100)?) / 10.0,
        relaxed_min: u.arbitrary::<Option<u8>>()?.map(usize::from),
        bandpass_width: f32::from(u.int_in_range(0u8..=50)?) / 100.0,
        threshold_mode: if u.arbitrary()? {
            ThresholdMode::PerSlice
        } else {
            ThresholdMode::CentralSlab
        },
        threads: 1,
        bin: u.int_in_range(0..=6)?,
    })
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let vol = SynthVolume::arbitrary(u)?;
    let sampling = sampling_a(u)?;
    let bead = bead_diameter_a(u, sampling)?;
    let given = if u.arbitrary()? {
        Some(positions(u, vol.dims, 4)?)
    } else {
        None
    };
    let params = CheckParams {
        threshold: if u.arbitrary()? {
            Some(f32::from(u.int_in_range(0u8..=100)?) / 100.0)
        } else {
            None
        },
        criterion: *u.choose(&[Criterion::Mean, Criterion::Votes])?,
        normalization: *u.choose(&[
            Normalization::PerCube,
            Normalization::Xmipp,
            Normalization::Raw,
        ])?,
        border: *u.choose(&[BorderPolicy::Skip, BorderPolicy::Pad])?,
        detector: detector(u)?,
        // Thread counts are clamped elsewhere (issue #11, item 11); 1–2 exercise both routes.
        threads: u.int_in_range(1..=2)?,
        html: false,
        ..CheckParams::default()
    };
    let cancel_after = if u.ratio(1u8, 8)? {
        Some(u.int_in_range(0..=20)?)
    } else {
        None
    };

    let s = sampling as f32;
    let Ok(volume) = Volume::from_data(vol.dims, [s, s, s], vol.data) else {
        return Ok(());
    };
    let acq = Acquisition {
        sampling_a: sampling,
        bead_diameter_a: bead,
    };
    let log = ProgressLog::new(cancel_after);
    let report = |f: f32| log.report(f);
    let result = analyze(
        &volume,
        &acq,
        given.as_deref(),
        &params,
        networks(),
        Some(&report),
    );
    log.check();
    let a = match result {
        Err(Error::Cancelled) => {
            assert!(log.cancelled(), "Cancelled without a cancellation");
            return Ok(());
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return Ok(());
        }
        Ok(a) => a,
    };
    assert!(
        !log.cancelled(),
        "the run went on after the callback cancelled it"
    );
    if let Some(p) = &given {
        assert_eq!(
            a.beads.len() + a.skipped.len() + a.duplicates.len(),
            p.len(),
            "a given bead went missing"
        );
    }
    assert_eq!(a.cubes.len(), a.beads.len() * CUBE_LEN);
    assert!(
        a.cubes.iter().all(|v| v.is_finite()),
        "non-finite cube voxel"
    );
    for b in &a.beads {
        assert!(b.position.iter().all(|v| v.is_finite()));
        assert!((0.0..=1.0).contains(&b.strong), "strong score {}", b.strong);
        if let Some(w) = b.weak {
            assert!((0.0..=1.0).contains(&w), "weak score {w}");
        }
    }
    if a.beads.is_empty() {
        assert_eq!(
            a.decision.verdict,
            Verdict::Undetermined,
            "a verdict without beads"
        );
    }
    assert!(a.cube_sampling_a.is_finite() && a.cube_sampling_a > 0.0);
    Ok(())
}

fuzz_target!(|bytes: &[u8]| {
    let _ = run(&mut Unstructured::new(bytes));
});
