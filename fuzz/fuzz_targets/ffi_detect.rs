//! `misalign_detect` through the C ABI, called as a C host would: a small synthetic volume,
//! fuzzed options (or NULL for the defaults), sizes and output capacity, and a progress
//! callback that may cancel. Never a panic (not even one caught at the boundary); on success
//! the beads lie inside the volume; when the array was too small, a second call with the
//! reported size succeeds and starts with the same beads.
#![no_main]
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use misalign::ffi::detect::{misalign_detect, misalign_detect_options};
use misalign::ffi::error::misalign_status;
use misalign_fuzz::{
    c_volume, detect_options, last_error, progress_callback, sampling_a, ProgressLog, SynthVolume,
};

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let vol = SynthVolume::arbitrary(u)?;
    let sampling = sampling_a(u)? as f32;
    let c_vol = c_volume(u, &vol, sampling)?;
    let mut opts = detect_options(u, f64::from(sampling))?;
    let log = ProgressLog::new(if u.ratio(1u8, 8)? {
        Some(u.int_in_range(0..=40)?)
    } else {
        None
    });
    if u.arbitrary()? {
        opts.progress = Some(progress_callback);
        opts.progress_user_data = &log as *const ProgressLog as *mut _;
    }
    let defaults = u.ratio(1u8, 8)?;
    let capacity = u.int_in_range(0usize..=12)?;
    let null_out = capacity == 0 && u.arbitrary()?;
    let mut out = vec![f64::NAN; 3 * capacity];
    let out_ptr = if null_out {
        std::ptr::null_mut()
    } else {
        out.as_mut_ptr()
    };
    let opts_ptr = |o: &misalign_detect_options| {
        if defaults {
            std::ptr::null()
        } else {
            o as *const misalign_detect_options
        }
    };
    let mut count = usize::MAX;
    // SAFETY: every pointer is NULL or points to what the call reads or writes, sized as stated.
    let status = unsafe { misalign_detect(&c_vol, opts_ptr(&opts), out_ptr, capacity, &mut count) };
    log.check();
    assert_ne!(status, misalign_status::Panic, "panic: {}", last_error());
    match status {
        misalign_status::Ok | misalign_status::BufferTooSmall => {
            assert_eq!(status == misalign_status::Ok, count <= capacity);
            let dims = [c_vol.nx, c_vol.ny, c_vol.nz];
            for p in out[..3 * count.min(capacity)].chunks_exact(3) {
                for k in 0..3 {
                    assert!(
                        p[k].is_finite() && p[k] > -0.5 && p[k] < dims[k] as f64 - 0.5,
                        "bead {p:?} outside the {dims:?} volume"
                    );
                }
            }
            if status == misalign_status::BufferTooSmall && !log.cancelled() {
                let mut all = vec![f64::NAN; 3 * count];
                let mut again = 0usize;
                let log2 = ProgressLog::new(None);
                if opts.progress.is_some() {
                    opts.progress_user_data = &log2 as *const ProgressLog as *mut _;
                }
                // SAFETY: as above, with an array of the reported size.
                let st = unsafe {
                    misalign_detect(&c_vol, opts_ptr(&opts), all.as_mut_ptr(), count, &mut again)
                };
                assert_eq!(st, misalign_status::Ok, "{}", last_error());
                assert_eq!(
                    again, count,
                    "a second identical call found a different number"
                );
                let head = 3 * capacity;
                assert!(
                    all[..head]
                        .iter()
                        .zip(&out)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "a second identical call found different beads"
                );
            }
        }
        misalign_status::Cancelled => {
            assert!(log.cancelled(), "CANCELLED without a cancellation");
            assert_eq!(count, 0);
        }
        _ => {
            assert_eq!(count, 0, "count must be 0 after {status:?}");
            assert!(!last_error().is_empty(), "{status:?} without a message");
        }
    }
    Ok(())
}

fuzz_target!(|bytes: &[u8]| {
    let _ = run(&mut Unstructured::new(bytes));
});
