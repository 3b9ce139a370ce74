//! The whole per-tomogram check through the C ABI: beads (given or detected) → 32³ cubes → the
//! strong and weak networks → verdict, from a caller's volume into caller structs.
use std::ffi::{c_char, c_void};

use super::detect::misalign_detect_options;
use super::error::{guard, misalign_status, Failure};
use super::progress::{self, misalign_progress_fn};
use super::ptr;
use super::volume::{misalign_volume, view};
use crate::decide::{Criterion, StageSummary};
use crate::host::check::{analyze, CheckParams};
use crate::host::extract::{BorderPolicy, Normalization};
use crate::host::networks::Networks;
use crate::host::Acquisition;

/// The strong and the weak network a check needs (opaque). Create with
/// `misalign_networks_baked` or `misalign_networks_from_files`, release with
/// `misalign_networks_free`. Immutable: any number of threads may check with one handle.
pub struct misalign_networks {
    nets: Networks,
}

/// A tomogram class; the values are Xmipp's class codes (1 strong, 2 weak, 3 aligned) plus 0.
pub type misalign_verdict = u32;
/// No usable bead: nothing can be said (never reported as aligned).
pub const MISALIGN_VERDICT_UNDETERMINED: misalign_verdict = 0;
/// Strongly misaligned (failed the strong network).
pub const MISALIGN_VERDICT_STRONG: misalign_verdict = 1;
/// Weakly misaligned (passed the strong network, failed the weak one).
pub const MISALIGN_VERDICT_WEAK: misalign_verdict = 2;
/// Aligned (passed both networks).
pub const MISALIGN_VERDICT_ALIGNED: misalign_verdict = 3;

/// How per-bead scores are combined into a stage decision.
pub type misalign_criterion = u32;
/// A stage passes if the mean score is above its threshold (default; the paper's advice).
pub const MISALIGN_CRITERION_MEAN: misalign_criterion = 0;
/// The strong stage passes if more than half of the beads score above 0.5.
pub const MISALIGN_CRITERION_VOTES: misalign_criterion = 1;

/// How each cube is normalised before scoring.
pub type misalign_normalization = u32;
/// Mean 0 / SD 1 per cube (default; what the built-in networks were trained with).
pub const MISALIGN_NORMALIZATION_PER_CUBE: misalign_normalization = 0;
/// The original Xmipp pipeline's normalisation (for networks imported from Xmipp).
pub const MISALIGN_NORMALIZATION_XMIPP: misalign_normalization = 1;

/// Settings of `misalign_check`. Get the defaults from `misalign_check_options_default()`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct misalign_check_options {
    /// Bead diameter in Å (default 100). Also used by the detector.
    pub fiducial_size_a: f64,
    /// Weak-stage threshold on the mean weak score (default 0.45, Scipion's); NaN = none, the
    /// weak stage then uses `criterion` with the neutral 0.5 cut.
    pub weak_threshold: f32,
    /// `MISALIGN_CRITERION_MEAN` (default) or `MISALIGN_CRITERION_VOTES`.
    pub criterion: misalign_criterion,
    /// `MISALIGN_NORMALIZATION_PER_CUBE` (default) or `MISALIGN_NORMALIZATION_XMIPP`.
    pub normalization: misalign_normalization,
    /// Beads whose cube leaves the volume: skipped (false, default, as the original) or padded.
    pub pad_border: bool,
    /// Worker threads for detection, extraction and scoring; 0 = all CPUs (default).
    pub threads: u32,
    /// Detector settings, used when no coordinates are given (its `fiducial_size_a`,
    /// `threads` and progress fields are replaced by the fields here).
    pub detector: misalign_detect_options,
    /// Progress/cancel callback for the whole check (default NULL: none); detection reports
    /// 0 … 0.8, then extraction 0.85, the strong network 0.9 and the end 1.0. See
    /// `misalign_progress_fn`.
    pub progress: misalign_progress_fn,
    /// Passed to `progress` unchanged (default NULL).
    pub progress_user_data: *mut c_void,
}

/// Summary of one network stage.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct misalign_stage {
    /// Mean score in [0, 1].
    pub mean: f32,
    /// Fraction of beads scoring above 0.5.
    pub vote_fraction: f32,
    /// Number of beads scored.
    pub count: usize,
}

/// The outcome of `misalign_check` for one tomogram.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct misalign_check_result {
    /// The class (`MISALIGN_VERDICT_*`).
    pub verdict: misalign_verdict,
    /// Whether `strong` holds a summary (false when no bead could be scored).
    pub has_strong: bool,
    /// The strong network's scores.
    pub strong: misalign_stage,
    /// Whether `weak` holds a summary (the weak network runs only if the strong stage passed).
    pub has_weak: bool,
    /// The weak network's scores.
    pub weak: misalign_stage,
    /// Beads given (coordinates) or found (detector).
    pub n_beads: usize,
    /// Beads scored (= `n_beads - n_skipped`).
    pub n_scored: usize,
    /// Beads skipped because their cube left the volume or they repeat an earlier given bead
    /// (closer than half a diameter).
    pub n_skipped: usize,
    /// Voxel size of the cubes in Å (bead diameter / 16).
    pub cube_sampling_a: f32,
}

/// One scored bead.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct misalign_bead_score {
    /// Index of the bead in the coordinate input (or in the detector's list).
    pub input_index: usize,
    /// Position in voxels, 0-based.
    pub x: f64,
    /// Position in voxels, 0-based.
    pub y: f64,
    /// Position in voxels, 0-based.
    pub z: f64,
    /// Strong-network score in [0, 1] (1 = aligned).
    pub strong: f32,
    /// Weak-network score in [0, 1], NaN when the weak network was not run.
    pub weak: f32,
}

impl misalign_check_options {
    fn defaults() -> Self {
        let p = CheckParams::default();
        misalign_check_options {
            fiducial_size_a: Acquisition::default().bead_diameter_a,
            weak_threshold: p.threshold.unwrap_or(f32::NAN),
            criterion: match p.criterion {
                Criterion::Mean => MISALIGN_CRITERION_MEAN,
                Criterion::Votes => MISALIGN_CRITERION_VOTES,
            },
            normalization: match p.normalization {
                Normalization::Xmipp => MISALIGN_NORMALIZATION_XMIPP,
                _ => MISALIGN_NORMALIZATION_PER_CUBE,
            },
            pad_border: p.border == BorderPolicy::Pad,
            threads: 0,
            detector: super::detect::misalign_detect_options_default(),
            progress: None,
            progress_user_data: std::ptr::null_mut(),
        }
    }

    /// The pipeline's parameters.
    fn params(&self) -> Result<CheckParams, Failure> {
        let criterion = match self.criterion {
            MISALIGN_CRITERION_MEAN => Criterion::Mean,
            MISALIGN_CRITERION_VOTES => Criterion::Votes,
            c => return Err(Failure::invalid(format!("unknown criterion {c}"))),
        };
        let normalization = match self.normalization {
            MISALIGN_NORMALIZATION_PER_CUBE => Normalization::PerCube,
            MISALIGN_NORMALIZATION_XMIPP => Normalization::Xmipp,
            n => return Err(Failure::invalid(format!("unknown normalization {n}"))),
        };
        let threshold = if self.weak_threshold.is_nan() {
            None
        } else if (0.0..=1.0).contains(&self.weak_threshold) {
            Some(self.weak_threshold)
        } else {
            return Err(Failure::invalid(format!(
                "weak_threshold must be in [0, 1] or NaN, got {}",
                self.weak_threshold
            )));
        };
        Ok(CheckParams {
            threshold,
            criterion,
            normalization,
            border: if self.pad_border {
                BorderPolicy::Pad
            } else {
                BorderPolicy::Skip
            },
            detector: self.detector.params(),
            threads: self.threads as usize,
            html: false,
            ..CheckParams::default()
        })
    }
}

/// The default check settings (bead 100 Å, weak threshold 0.45, mean criterion, per-cube
/// normalisation, border beads skipped, all CPUs, default detector).
#[no_mangle]
pub extern "C" fn misalign_check_options_default() -> misalign_check_options {
    misalign_check_options::defaults()
}

/// Stores a new handle in `*out`.
fn hand_out(out: &mut *mut misalign_networks, nets: Networks) {
    *out = Box::into_raw(Box::new(misalign_networks { nets }));
}

/// The networks built into the library (trained on simulated tomograms). On success `*out`
/// receives a handle to free with `misalign_networks_free`; on error it is set to NULL.
///
/// # Safety
/// `out` must point to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn misalign_networks_baked(
    out: *mut *mut misalign_networks,
) -> misalign_status {
    guard(|| {
        // SAFETY: the caller's promise.
        let out = unsafe { ptr::out(out, "out") }?;
        *out = std::ptr::null_mut();
        hand_out(out, Networks::baked()?);
        Ok(())
    })
}

/// Strong and weak networks from `.mlw` weight files. On success `*out` receives a handle to
/// free with `misalign_networks_free`; on error it is set to NULL.
///
/// Errors: `NULL_POINTER`, `IO`, `WEIGHTS` (the message names the file).
///
/// # Safety
/// `strong` and `weak` must be NUL-terminated strings; `out` must point to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn misalign_networks_from_files(
    strong: *const c_char,
    weak: *const c_char,
    out: *mut *mut misalign_networks,
) -> misalign_status {
    guard(|| {
        // SAFETY: the caller's promises.
        let out = unsafe { ptr::out(out, "out") }?;
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let (s, w) = unsafe { (ptr::path(strong, "strong")?, ptr::path(weak, "weak")?) };
        hand_out(out, Networks::from_files(&s, &w)?);
        Ok(())
    })
}

/// Frees a networks handle; NULL is ignored. Not while another thread uses it.
///
/// # Safety
/// `nets` must be NULL or a live handle from this library, freed once.
#[no_mangle]
pub unsafe extern "C" fn misalign_networks_free(nets: *mut misalign_networks) {
    if nets.is_null() {
        return;
    }
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: from Box::into_raw in `hand_out`, freed once (caller's promise).
        drop(unsafe { Box::from_raw(nets) });
    });
}

fn stage(s: Option<StageSummary>) -> (bool, misalign_stage) {
    s.map_or((false, misalign_stage::default()), |s| {
        (
            true,
            misalign_stage {
                mean: s.mean,
                vote_fraction: s.vote_fraction,
                count: s.count,
            },
        )
    })
}

/// Checks one tomogram held in memory: takes the beads from `coords_xyz` (`n_coords` x, y, z
/// triples in 0-based voxels) or, if `coords_xyz` is NULL, detects them; cuts a cube around
/// each at a sampling where the bead spans 16 voxels; scores them with the strong network and,
/// if the tomogram passes it, the weak one; and classifies the tomogram. `options` may be NULL
/// for the defaults. The result goes to `*result`; per-bead scores, in input order, to
/// `beads[0 .. min(result->n_scored, beads_capacity))` (`beads` may be NULL with capacity 0 —
/// a short array is not an error, compare `n_scored` with your capacity). Allocates working
/// memory; the volume is only read. Thread-safe: concurrent calls are independent.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (bad volume — see `misalign_detect` — a NaN or
/// out-of-volume coordinate, an unknown option value), `CANCELLED` (the progress callback
/// returned false), `PANIC`. Outputs are written only on
/// success. No bead at all is not an error: the verdict is then `MISALIGN_VERDICT_UNDETERMINED`.
///
/// # Safety
/// `nets` must be a live handle; `volume` a valid description of `nx·ny·nz` floats;
/// `coords_xyz` NULL or `3 * n_coords` doubles; `result` writable; `beads` NULL or
/// `beads_capacity` writable elements; outputs not accessed by anyone else during the call.
#[no_mangle]
pub unsafe extern "C" fn misalign_check(
    nets: *const misalign_networks,
    volume: *const misalign_volume,
    coords_xyz: *const f64,
    n_coords: usize,
    options: *const misalign_check_options,
    result: *mut misalign_check_result,
    beads: *mut misalign_bead_score,
    beads_capacity: usize,
) -> misalign_status {
    guard(|| {
        // SAFETY: the caller's promises (NULL and alignment checked inside).
        let nets = unsafe { ptr::input(nets, "nets") }?;
        // SAFETY: as above; copied out at once.
        let vol = *unsafe { ptr::input(volume, "volume") }?;
        let opts = if options.is_null() {
            misalign_check_options::defaults()
        } else {
            // SAFETY: non-NULL, the caller's promise.
            *unsafe { ptr::input(options, "options") }?
        };
        if result.is_null() {
            return Err(Failure::null("result"));
        }
        if beads.is_null() && beads_capacity > 0 {
            return Err(Failure::null("beads"));
        }
        // SAFETY: the caller's promise on the volume data.
        let src = unsafe { view(&vol) }?;
        let positions: Option<Vec<[f64; 3]>> = if coords_xyz.is_null() {
            None
        } else {
            let n = n_coords
                .checked_mul(3)
                .ok_or_else(|| Failure::invalid(format!("n_coords = {n_coords} overflows")))?;
            // SAFETY: the caller's promise: 3 * n_coords doubles.
            let flat = unsafe { ptr::slice(coords_xyz, n, "coords_xyz") }?;
            let dims = [vol.nx, vol.ny, vol.nz];
            let mut list = Vec::with_capacity(n_coords);
            for (i, c) in flat.chunks_exact(3).enumerate() {
                let inside = c
                    .iter()
                    .zip(dims)
                    .all(|(&v, d)| v.is_finite() && v > -0.5 && v < d as f64 - 0.5);
                if !inside {
                    return Err(Failure::invalid(format!(
                        "coordinate {i} ({}, {}, {}) is not inside the {}×{}×{} volume",
                        c[0], c[1], c[2], dims[0], dims[1], dims[2]
                    )));
                }
                list.push([c[0], c[1], c[2]]);
            }
            Some(list)
        };
        let params = opts.params()?;
        let acq = Acquisition::new(vol.sampling_a as f64, opts.fiducial_size_a)?;
        let report = progress::closure(opts.progress, opts.progress_user_data);
        let analysis = analyze(
            &src,
            &acq,
            positions.as_deref(),
            &params,
            &nets.nets,
            report.as_ref().map(|f| f as &dyn Fn(f32) -> bool),
        )?;

        let d = analysis.decision;
        let (has_strong, strong) = stage(d.strong);
        let (has_weak, weak) = stage(d.weak);
        let n_scored = analysis.beads.len();
        // Duplicates of an earlier given bead count as skipped: n_beads stays what was given.
        let n_skipped = analysis.skipped.len() + analysis.duplicates.len();
        let res = misalign_check_result {
            // The C codes are Xmipp's classes (test below keeps the constants in step).
            verdict: misalign_verdict::from(d.verdict.xmipp_class()),
            has_strong,
            strong,
            has_weak,
            weak,
            n_beads: n_scored + n_skipped,
            n_scored,
            n_skipped,
            cube_sampling_a: analysis.cube_sampling_a,
        };
        let rows = n_scored.min(beads_capacity);
        let row_bytes = std::mem::size_of::<misalign_bead_score>();
        ptr::disjoint(
            beads as *const u8,
            rows.saturating_mul(row_bytes),
            result as *const u8,
            std::mem::size_of::<misalign_check_result>(),
            "beads and result",
        )?;
        // SAFETY: the caller's promises; NULL, alignment and disjointness checked.
        let (res_out, rows_out) = unsafe {
            (
                ptr::out(result, "result")?,
                ptr::slice_mut(beads, rows, "beads")?,
            )
        };
        for (dst, b) in rows_out.iter_mut().zip(&analysis.beads) {
            *dst = misalign_bead_score {
                input_index: b.input_index,
                x: b.position[0],
                y: b.position[1],
                z: b.position[2],
                strong: b.strong,
                weak: b.weak.unwrap_or(f32::NAN),
            };
        }
        *res_out = res;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::Verdict;
    use crate::host::VolumeView;

    /// Noise plus dark soft spheres of 10 voxels at `beads`.
    fn planted(dims: [usize; 3], beads: &[[f64; 3]]) -> Vec<f32> {
        let [nx, ny, nz] = dims;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..nx * ny * nz)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let p = [
                    (i % nx) as f64,
                    ((i / nx) % ny) as f64,
                    (i / (nx * ny)) as f64,
                ];
                let mut s = 5.0 + (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                for b in beads {
                    let r = (0..3).map(|a| (p[a] - b[a]).powi(2)).sum::<f64>().sqrt();
                    s -= 1.0 / (1.0 + ((r - 5.0) / 0.7).exp());
                }
                s as f32
            })
            .collect()
    }

    #[test]
    fn verdict_codes_are_the_xmipp_classes() {
        for (v, code) in [
            (Verdict::Undetermined, MISALIGN_VERDICT_UNDETERMINED),
            (Verdict::Strong, MISALIGN_VERDICT_STRONG),
            (Verdict::Weak, MISALIGN_VERDICT_WEAK),
            (Verdict::Aligned, MISALIGN_VERDICT_ALIGNED),
        ] {
            assert_eq!(misalign_verdict::from(v.xmipp_class()), code, "{v:?}");
        }
    }

    #[test]
    fn the_c_entry_point_reports_what_analyze_decides() {
        let w = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/keras-golden/model.mlw"
        );
        let nets = Networks::from_files(w.as_ref(), w.as_ref()).expect("golden weights");
        let dims = [96, 80, 41];
        let truth = [[30.0, 25.0, 20.0], [65.0, 30.0, 18.0], [40.0, 58.0, 22.0]];
        let data = planted(dims, &truth);
        let opts = misalign_check_options_default();
        let params = opts.params().expect("default options are valid");
        let src = VolumeView::new(dims, [10.0; 3], &data).expect("view");
        let acq = Acquisition::new(10.0, opts.fiducial_size_a).expect("acquisition");
        let want = analyze(&src, &acq, Some(&truth), &params, &nets, None).expect("analysis");

        let handle = misalign_networks { nets };
        let vol = misalign_volume::of(&data, dims, 10.0);
        let mut res = misalign_check_result::default();
        let mut rows = [misalign_bead_score {
            input_index: 99,
            x: 0.0,
            y: 0.0,
            z: 0.0,
            strong: -1.0,
            weak: -1.0,
        }; 4];
        // SAFETY: every pointer addresses what the function expects.
        let st = unsafe {
            misalign_check(
                &handle,
                &vol,
                truth.as_ptr() as *const f64,
                truth.len(),
                &opts,
                &mut res,
                rows.as_mut_ptr(),
                rows.len(),
            )
        };
        assert_eq!(st, misalign_status::Ok);
        assert_eq!(res.verdict, want.decision.verdict.xmipp_class() as u32);
        assert_eq!(res.n_scored, want.beads.len());
        assert_eq!(res.n_skipped, want.skipped.len());
        assert_eq!(res.has_weak, want.decision.weak.is_some());
        for (row, b) in rows.iter().zip(&want.beads) {
            assert_eq!(row.input_index, b.input_index);
            assert_eq!([row.x, row.y, row.z], b.position);
            assert_eq!(row.strong, b.strong);
            assert_eq!(row.weak.to_bits(), b.weak.unwrap_or(f32::NAN).to_bits());
        }
    }
}
