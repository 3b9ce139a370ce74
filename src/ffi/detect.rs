//! Bead detection in a caller's volume, results into a caller array.
use std::ffi::c_void;

use super::error::{guard, misalign_status, Failure};
use super::progress::{self, misalign_progress_fn};
use super::ptr;
use super::volume::{misalign_volume, view};
use crate::host::detector::{detect, DetectorParams, ThresholdMode};
use crate::host::Acquisition;

/// Settings of the fiducial detector. Get the defaults from `misalign_detect_options_default()`
/// and change what you need; every field is validated by `misalign_detect`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct misalign_detect_options {
    /// Bead diameter in Å (default 100 = 10 nm gold).
    pub fiducial_size_a: f64,
    /// Worker threads; 0 = one per available CPU (default 0). Results do not depend on it.
    pub threads: u32,
    /// k of the dark-outlier threshold mean − k·sd (default 5; Scipion uses 3).
    pub sd_thr: f64,
    /// Minimum pixel count of a 2D region (default 10; Scipion uses 50).
    pub min_area: u32,
    /// Box edge in voxels for the filters and the border margin (default 32).
    pub box_size: u32,
    /// Keep a candidate only if its mirror correlation is above this (default 0.1).
    pub mirror_corr_thr: f64,
    /// Drop a candidate whose radial profile's Mahalanobis distance is above this (default 2).
    pub mahalanobis_thr: f64,
    /// Relaxed mode: if the filters leave at most this many beads, return the unfiltered list;
    /// 0 = off (default 0; Scipion uses 3).
    pub relaxed_min: u32,
    /// Threshold statistics per slice (true) or from the central slab (false, default).
    pub per_slice_threshold: bool,
    /// Detect on the volume binned by this factor (positions stay full-resolution voxels);
    /// 0 = automatic (⌊D/10⌋ for beads of D ≥ 20 voxels; default), 1 = never.
    pub bin: u32,
    /// Progress/cancel callback (default NULL: none); see `misalign_progress_fn`.
    pub progress: misalign_progress_fn,
    /// Passed to `progress` unchanged (default NULL).
    pub progress_user_data: *mut c_void,
}

impl misalign_detect_options {
    /// The detector defaults, with a thread count of 0 (all CPUs).
    fn defaults() -> Self {
        let d = DetectorParams::default();
        misalign_detect_options {
            fiducial_size_a: Acquisition::default().bead_diameter_a,
            threads: 0,
            sd_thr: d.sd_thr,
            min_area: u32::try_from(d.min_area).unwrap_or(u32::MAX),
            box_size: u32::try_from(d.box_size).unwrap_or(u32::MAX),
            mirror_corr_thr: d.mirror_corr_thr,
            mahalanobis_thr: d.mahalanobis_thr,
            relaxed_min: d
                .relaxed_min
                .map_or(0, |r| u32::try_from(r).unwrap_or(u32::MAX)),
            per_slice_threshold: d.threshold_mode == ThresholdMode::PerSlice,
            bin: u32::try_from(d.bin).unwrap_or(0),
            progress: None,
            progress_user_data: std::ptr::null_mut(),
        }
    }

    /// The detector's parameters (validated by `detect`).
    pub(crate) fn params(&self) -> DetectorParams {
        DetectorParams {
            box_size: self.box_size as usize,
            sd_thr: self.sd_thr,
            min_area: self.min_area as usize,
            mirror_corr_thr: self.mirror_corr_thr,
            mahalanobis_thr: self.mahalanobis_thr,
            relaxed_min: (self.relaxed_min > 0).then_some(self.relaxed_min as usize),
            threshold_mode: if self.per_slice_threshold {
                ThresholdMode::PerSlice
            } else {
                ThresholdMode::CentralSlab
            },
            threads: self.threads as usize,
            bin: self.bin as usize,
            ..DetectorParams::default()
        }
    }
}

/// The default detector settings (those of the original Xmipp program; bead 100 Å; all CPUs).
#[no_mangle]
pub extern "C" fn misalign_detect_options_default() -> misalign_detect_options {
    misalign_detect_options::defaults()
}

/// Finds the gold beads in `volume` (dark spheres of `options->fiducial_size_a` Å). Writes up to
/// `capacity` beads to `beads_xyz` as x, y, z triples (0-based voxel coordinates of `volume`,
/// voxel centres at integers; `3 * capacity` doubles) and the number found to `*count`.
/// `options` may be NULL for the defaults. Allocates working memory; the volume is only read,
/// slice by slice, and not kept. Thread-safe: concurrent calls are independent.
///
/// If more than `capacity` beads were found, the first `capacity` are written, `*count` holds
/// the total and the status is `MISALIGN_STATUS_BUFFER_TOO_SMALL` — call again with a larger
/// array (or size it generously: a tomogram rarely holds more than a few hundred beads).
/// `beads_xyz` may be NULL when `capacity` is 0, to count.
///
/// Errors: `NULL_POINTER` (`volume`, its data, `count`), `INVALID_ARGUMENT` (zero or
/// overflowing dimensions, a volume smaller than 8×8×5, sampling ≤ 0, a NaN or infinite voxel,
/// an out-of-range option such as a bead diameter outside 2…512 voxels),
/// `BUFFER_TOO_SMALL` (see above), `CANCELLED` (the progress callback returned false). On
/// other errors `*count` is 0 and nothing is written.
///
/// # Safety
/// `volume` must point to a valid `misalign_volume` whose data holds `nx·ny·nz` floats;
/// `beads_xyz` must hold `3 * capacity` writable doubles and `count` one writable `size_t`,
/// none of them modified by anyone else during the call.
#[no_mangle]
pub unsafe extern "C" fn misalign_detect(
    volume: *const misalign_volume,
    options: *const misalign_detect_options,
    beads_xyz: *mut f64,
    capacity: usize,
    count: *mut usize,
) -> misalign_status {
    guard(|| {
        // SAFETY: the caller's promises (each function checks NULL and alignment). References
        // to `count` are taken only for single writes, so `volume` and `options` (copied out
        // right away) may even live next to it.
        *unsafe { ptr::out(count, "count") }? = 0;
        // SAFETY: as above.
        let vol = *unsafe { ptr::input(volume, "volume") }?;
        let opts = if options.is_null() {
            misalign_detect_options::defaults()
        } else {
            // SAFETY: non-NULL, the caller's promise.
            *unsafe { ptr::input(options, "options") }?
        };
        let values = capacity
            .checked_mul(3)
            .ok_or_else(|| Failure::invalid(format!("capacity {capacity} overflows")))?;
        if beads_xyz.is_null() && capacity > 0 {
            return Err(Failure::null("beads_xyz"));
        }
        // SAFETY: the caller's promise on the volume data.
        let src = unsafe { view(&vol) }?;
        let data = (vol.data as *const u8, vol.nx * vol.ny * vol.nz * 4); // checked by `view`
        let beads = (beads_xyz as *const u8, values.saturating_mul(8));
        let cnt = (count as *const u8, std::mem::size_of::<usize>());
        ptr::disjoint(
            beads.0,
            beads.1,
            data.0,
            data.1,
            "beads_xyz and the volume data",
        )?;
        ptr::disjoint(beads.0, beads.1, cnt.0, cnt.1, "beads_xyz and count")?;
        ptr::disjoint(cnt.0, cnt.1, data.0, data.1, "count and the volume data")?;
        // SAFETY: the caller's promise; length and disjointness checked.
        let out = unsafe { ptr::slice_mut(beads_xyz, values, "beads_xyz") }?;
        let report = progress::closure(opts.progress, opts.progress_user_data);
        let report = report.as_ref().map(|f| f as &dyn Fn(f32) -> bool);
        let acq = Acquisition::new(vol.sampling_a as f64, opts.fiducial_size_a)?;
        let found = detect(&src, &acq, &opts.params(), report)?.beads;
        for (dst, b) in out.chunks_exact_mut(3).zip(&found) {
            dst.copy_from_slice(b);
        }
        // SAFETY: checked above; disjoint from the other arguments.
        *unsafe { ptr::out(count, "count") }? = found.len();
        if found.len() > capacity {
            return Err(Failure::new(
                misalign_status::BufferTooSmall,
                format!(
                    "found {} beads, beads_xyz has room for {capacity}; the first {capacity} were written",
                    found.len()
                ),
            ));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::VolumeView;

    /// Noise plus dark soft spheres of 10 voxels at `beads` (sampling 10 Å, bead 100 Å).
    fn planted(dims: [usize; 3], beads: &[[f64; 3]]) -> Vec<f32> {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut noise = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let [nx, ny, nz] = dims;
        let mut v = vec![0.0f32; nx * ny * nz];
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    let mut s = 5.0 + noise();
                    for b in beads {
                        let r = ((x as f64 - b[0]).powi(2)
                            + (y as f64 - b[1]).powi(2)
                            + (z as f64 - b[2]).powi(2))
                        .sqrt();
                        s -= 1.0 / (1.0 + ((r - 5.0) / 0.7).exp());
                    }
                    v[(z * ny + y) * nx + x] = s as f32;
                }
            }
        }
        v
    }

    #[test]
    fn same_beads_as_the_rust_detector_and_capacity_is_honoured() {
        let dims = [96, 80, 41];
        let truth = [[30.0, 25.0, 20.0], [65.0, 30.0, 18.0], [40.0, 58.0, 22.0]];
        let data = planted(dims, &truth);
        let vol = misalign_volume::of(&data, dims, 10.0);
        let mut opts = misalign_detect_options_default();
        opts.threads = 2;
        let view = VolumeView::new(dims, [10.0; 3], &data).expect("view");
        let acq = Acquisition::new(10.0, opts.fiducial_size_a).expect("acquisition");
        let want = detect(&view, &acq, &opts.params(), None)
            .expect("detect")
            .beads;
        assert!(!want.is_empty());
        let mut out = vec![f64::NAN; 3 * (want.len() + 2)];
        let mut n = 0usize;
        // SAFETY: buffers of the stated sizes.
        unsafe {
            let st = misalign_detect(&vol, &opts, out.as_mut_ptr(), want.len() + 2, &mut n);
            assert_eq!(st, misalign_status::Ok);
            assert_eq!(n, want.len());
            let got: Vec<[f64; 3]> = out[..3 * n].chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
            assert_eq!(got, want);
            // Too small: the first beads are written, the total is reported.
            out.fill(f64::NAN);
            let st = misalign_detect(&vol, std::ptr::null(), out.as_mut_ptr(), 1, &mut n);
            assert_eq!(st, misalign_status::BufferTooSmall);
            assert_eq!(n, want.len());
            assert!(out[..3].iter().all(|v| v.is_finite()) && out[3].is_nan());
            // Counting only.
            let st = misalign_detect(&vol, &opts, std::ptr::null_mut(), 0, &mut n);
            assert_eq!(st, misalign_status::BufferTooSmall);
            assert_eq!(n, want.len());
            // Bad options and volumes.
            opts.fiducial_size_a = -1.0;
            let st = misalign_detect(&vol, &opts, out.as_mut_ptr(), 4, &mut n);
            assert_eq!((st, n), (misalign_status::InvalidArgument, 0));
            let tiny = misalign_volume { nz: 1, ..vol };
            let st = misalign_detect(&tiny, std::ptr::null(), out.as_mut_ptr(), 4, &mut n);
            assert_eq!(st, misalign_status::InvalidArgument);
        }
    }

    /// Counts calls in the `usize` behind `user_data`; cancels on the third.
    unsafe extern "C" fn cancel_on_third(_fraction: f32, user_data: *mut c_void) -> bool {
        // SAFETY: the test passes a pointer to its own `usize`.
        let calls = unsafe { &mut *(user_data as *mut usize) };
        *calls += 1;
        *calls < 3
    }

    #[test]
    fn the_progress_callback_can_cancel() {
        let dims = [64, 64, 40];
        let data = planted(dims, &[[32.0, 32.0, 20.0]]);
        let vol = misalign_volume::of(&data, dims, 10.0);
        let mut calls = 0usize;
        let mut opts = misalign_detect_options_default();
        opts.progress = Some(cancel_on_third);
        opts.progress_user_data = &mut calls as *mut usize as *mut c_void;
        let mut out = [0.0f64; 12];
        let mut n = 9usize;
        // SAFETY: buffers of the stated sizes; `calls` outlives the call.
        let st = unsafe { misalign_detect(&vol, &opts, out.as_mut_ptr(), 4, &mut n) };
        assert_eq!((st, n, calls), (misalign_status::Cancelled, 0, 3));
    }
}
