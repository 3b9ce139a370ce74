//! `misalign_check` through the C ABI, called as a C host would: a small synthetic volume,
//! given coordinates (some outside or non-finite) or the detector, fuzzed options (or NULL),
//! output capacity and a progress callback that may cancel. Never a panic (not even one
//! caught at the boundary); on success the counts add up, the verdict is a known code and
//! agrees with the stages, and every written score is in 0 … 1.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use misalign::ffi::check::*;
use misalign::ffi::error::misalign_status;
use misalign_fuzz::{
    bead_diameter_a, c_volume, detect_options, last_error, positions, progress_callback,
    sampling_a, ProgressLog, SynthVolume,
};

/// The built-in networks' handle, made once (as a host would) and never freed.
fn networks() -> *const misalign_networks {
    static NETS: OnceLock<usize> = OnceLock::new();
    *NETS.get_or_init(|| {
        let mut nets = std::ptr::null_mut();
        // SAFETY: `nets` is a writable pointer.
        let st = unsafe { misalign_networks_baked(&mut nets) };
        assert_eq!(st, misalign_status::Ok, "{}", last_error());
        nets as usize
    }) as *const misalign_networks
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let vol = SynthVolume::arbitrary(u)?;
    let sampling = sampling_a(u)? as f32;
    let c_vol = c_volume(u, &vol, sampling)?;
    let mut opts = misalign_check_options_default();
    opts.fiducial_size_a = bead_diameter_a(u, f64::from(sampling))?;
    opts.weak_threshold = *u.choose(&[0.45, 0.0, 1.0, 0.7, f32::NAN, -1.0, 2.0, f32::INFINITY])?;
    opts.criterion = u.int_in_range(0..=2)?;
    opts.normalization = u.int_in_range(0..=2)?;
    opts.pad_border = u.arbitrary()?;
    opts.threads = u.int_in_range(0..=2)?;
    opts.detector = detect_options(u, f64::from(sampling))?;
    let log = ProgressLog::new(if u.ratio(1u8, 8)? {
        Some(u.int_in_range(0..=40)?)
    } else {
        None
    });
    if u.arbitrary()? {
        opts.progress = Some(progress_callback);
        opts.progress_user_data = &log as *const ProgressLog as *mut _;
    }
    let opts_ptr = if u.ratio(1u8, 8)? {
        std::ptr::null()
    } else {
        &opts as *const _
    };
    let coords: Option<Vec<f64>> = if u.arbitrary()? {
        Some(positions(u, vol.dims, 8)?.concat())
    } else {
        None
    };
    let (coords_ptr, n_coords) = coords
        .as_ref()
        .map_or((std::ptr::null(), 0), |c| (c.as_ptr(), c.len() / 3));
    let capacity = u.int_in_range(0usize..=10)?;
    let unset = misalign_bead_score {
        input_index: usize::MAX,
        x: f64::NAN,
        y: f64::NAN,
        z: f64::NAN,
        strong: f32::NAN,
        weak: f32::NAN,
    };
    let mut beads = vec![unset; capacity];
    let beads_ptr = if capacity == 0 && u.arbitrary()? {
        std::ptr::null_mut()
    } else {
        beads.as_mut_ptr()
    };
    let mut result = misalign_check_result::default();
    // SAFETY: every pointer is NULL or points to what the call reads or writes, sized as stated.
    let status = unsafe {
        misalign_check(
            networks(),
            &c_vol,
            coords_ptr,
            n_coords,
            opts_ptr,
            &mut result,
            beads_ptr,
            capacity,
        )
    };
    log.check();
    assert_ne!(status, misalign_status::Panic, "panic: {}", last_error());
    match status {
        misalign_status::Ok => {}
        misalign_status::Cancelled => {
            assert!(log.cancelled(), "CANCELLED without a cancellation");
            return Ok(());
        }
        _ => {
            assert!(!last_error().is_empty(), "{status:?} without a message");
            return Ok(());
        }
    }
    let r = result;
    assert_eq!(r.n_beads, r.n_scored + r.n_skipped);
    if coords.is_some() {
        assert_eq!(r.n_beads, n_coords, "given beads went missing");
    }
    assert_eq!(r.has_strong, r.n_scored > 0);
    if r.n_scored == 0 {
        assert_eq!(
            r.verdict, MISALIGN_VERDICT_UNDETERMINED,
            "a verdict without beads"
        );
    }
    assert!(r.verdict <= MISALIGN_VERDICT_ALIGNED);
    if r.verdict == MISALIGN_VERDICT_ALIGNED || r.verdict == MISALIGN_VERDICT_WEAK {
        assert!(
            r.has_strong && r.has_weak,
            "weak/aligned without both stages"
        );
    }
    for s in [r.strong, r.weak] {
        assert!((0.0..=1.0).contains(&s.mean) && (0.0..=1.0).contains(&s.vote_fraction));
    }
    let written = r.n_scored.min(capacity);
    for (i, b) in beads.iter().enumerate() {
        if i >= written {
            assert_eq!(
                b.input_index,
                usize::MAX,
                "bead row {i} written beyond n_scored"
            );
            continue;
        }
        assert!((0.0..=1.0).contains(&b.strong), "strong score {}", b.strong);
        assert!(
            b.weak.is_nan() || (0.0..=1.0).contains(&b.weak),
            "weak score {}",
            b.weak
        );
        assert_eq!(b.weak.is_nan(), !r.has_weak);
        if coords.is_some() {
            assert!(b.input_index < n_coords);
        }
    }
    Ok(())
}

fuzz_target!(|bytes: &[u8]| {
    let _ = run(&mut Unstructured::new(bytes));
});
