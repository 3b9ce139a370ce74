//! The streaming, multi-threaded fiducial (gold-bead) detector: a re-implementation of Xmipp's
//! `xmipp_image_peak_high_contrast` (spec/fiducial-detector.md) with the paper's intent and the
//! spec's recommended fixes. docs/detector.md lists every deliberate deviation.
//!
//! Stages: pass 1 streams the slices through the no_std kernels of [`crate::detect`] on
//! `threads` workers (Z window, band-pass, Laplacian, threshold, labelling); 2D candidates are
//! voted on and linked into 3D chains (`assemble.rs`); pass 2 reads small cubes around them and
//! centres them by mirror correlation; duplicates are merged, border candidates dropped; pass 3
//! reads box cubes for the mirror-correlation and radial-profile Mahalanobis filters.
pub(crate) mod assemble;
mod binned;
pub(crate) mod refine;
pub(crate) mod slices;

use std::time::Instant;

pub use crate::host::fft::RustFft;
pub use slices::ThresholdMode;

use crate::detect::{bandpass::BandPass, profile};
use crate::host::fft::fast_len;
use crate::host::intensity::{self, Normalisation, Polarity};
use crate::host::{
    report_progress, resolve_threads, Acquisition, Error, Progress, Result, SliceSource,
};
use refine::Cube;

/// Detector settings. Defaults are the original program's (not Scipion's: Scipion passes
/// `sd_thr` 3, `min_area` 50 and relaxed mode with 3). The voxel size and the bead diameter are
/// not settings but facts of the tomogram: [`detect`] takes them as an [`Acquisition`].
#[derive(Clone, Debug, PartialEq)]
pub struct DetectorParams {
    /// Box edge in px for the filters and the border margin (box/2) (`--boxSize`).
    pub box_size: usize,
    /// Slices of the central slab the threshold statistics come from (`--numberSampSlices`),
    /// clamped to the volume's depth.
    pub number_samp_slices: usize,
    /// k in the dark-outlier threshold μ − k·σ (`--sdThr`).
    pub sd_thr: f64,
    /// Minimum pixel count of a 2D region (`--numberOfCoordinatesThr`).
    pub min_area: usize,
    /// Keep a candidate only if its mirror correlation is above this (`--mirrorCorrelationThr`).
    pub mirror_corr_thr: f64,
    /// Remove a candidate whose profile's Mahalanobis distance is above this.
    pub mahalanobis_thr: f64,
    /// Relaxed mode: if the filters leave at most this many beads, return the unfiltered list
    /// (`--relaxedModeThr`, with the intended, not the original's inverted, logic).
    pub relaxed_min: Option<usize>,
    /// Raised-cosine width of the band-pass, cycles/px.
    pub bandpass_width: f32,
    /// Where the threshold statistics come from.
    pub threshold_mode: ThresholdMode,
    /// Worker threads, 0 = every core ([`crate::host::resolve_threads`]); the result does not
    /// depend on it.
    pub threads: usize,
    /// Detect on the tomogram binned by this factor (means of b×b×b blocks; positions are
    /// mapped back to full-resolution voxels). 0 = automatic: ⌊D/10⌋ for beads of D ≥ 20 px,
    /// so every stage sees the ~10 px beads it is tuned for; 1 = never (the original's way).
    pub bin: usize,
}

impl Default for DetectorParams {
    fn default() -> Self {
        DetectorParams {
            box_size: 32,
            number_samp_slices: 10,
            sd_thr: 5.0,
            min_area: 10,
            mirror_corr_thr: 0.1,
            mahalanobis_thr: 2.0,
            relaxed_min: None,
            bandpass_width: crate::detect::bandpass::DEFAULT_WIDTH,
            threshold_mode: ThresholdMode::PerSlice,
            threads: 1,
            bin: 0,
        }
    }
}

impl DetectorParams {
    /// The binning factor used for beads of `d` px: `bin`, or for 0 ⌊D/10⌋ when D ≥ 20 px,
    /// else 1.
    pub fn effective_bin(&self, d: f64) -> usize {
        match self.bin {
            0 => {
                if d >= 20.0 {
                    (d / 10.0) as usize
                } else {
                    1
                }
            }
            b => b,
        }
    }

    fn validate(&self, acq: &Acquisition) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(format!("fiducial detector: {m}")));
        if let Err(e) = acq.validate() {
            return bad(e.to_string());
        }
        let d = acq.bead_diameter_px();
        if !(2.0..=512.0).contains(&d) {
            return bad(format!("bead diameter of {d:.2} px is outside 2 … 512 px (check sampling and fiducial size)"));
        }
        if !(8..=2 * profile::MAX_BINS).contains(&self.box_size) {
            return bad(format!(
                "box size must be 8 … {}, got {}",
                2 * profile::MAX_BINS,
                self.box_size
            ));
        }
        for (name, v) in [
            ("sdThr", self.sd_thr),
            ("mirror threshold", self.mirror_corr_thr),
            ("Mahalanobis threshold", self.mahalanobis_thr),
        ] {
            if !v.is_finite() {
                return bad(format!("{name} must be finite, got {v}"));
            }
        }
        if !(self.bandpass_width.is_finite() && self.bandpass_width >= 0.0) {
            return bad(format!(
                "band-pass width must be ≥ 0 cycles/px, got {}",
                self.bandpass_width
            ));
        }
        let b = self.effective_bin(d);
        if !(2.0..=512.0).contains(&(d / b as f64)) {
            return bad(format!(
                "binning by {b} leaves beads of {:.2} px (must be 2 … 512 px)",
                d / b as f64
            ));
        }
        Ok(())
    }
}

/// Candidate counts after each stage (for reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageCounts {
    /// 2D regions that passed area and circularity, all slices.
    pub candidates_2d: usize,
    /// 2D candidates left after slice-to-slice voting.
    pub after_voting: usize,
    /// 3D chains.
    pub chains: usize,
    /// 3D candidates left after centring (those centred outside the volume are dropped).
    pub after_centring: usize,
    /// After merging duplicates closer than D.
    pub after_merge: usize,
    /// After removing candidates within box/2 of a border.
    pub after_border: usize,
    /// After the mirror-correlation filter.
    pub after_mirror: usize,
    /// After the Mahalanobis filter.
    pub after_mahalanobis: usize,
    /// Relaxed mode returned the unfiltered list.
    pub relaxed_used: bool,
}

/// Wall-clock seconds per stage.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageTimings {
    pub slices: f64,
    pub assemble: f64,
    pub centring: f64,
    pub filters: f64,
}

/// What [`detect`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// Bead centres `[x, y, z]`, 0-based voxel indices, real-valued.
    pub beads: Vec<[f64; 3]>,
    /// Counts per stage.
    pub counts: StageCounts,
    /// The μ − k·σ threshold (central-slab mode; NaN in per-slice mode).
    pub threshold: f64,
    /// Time per stage.
    pub timings: StageTimings,
    /// How the grey values were viewed: a power-of-two rescale for extreme units, negated when
    /// the contrast was found inverted (gold bright). Positions do not depend on it.
    pub normalisation: Normalisation,
}

/// Finds the gold beads of a tomogram of the given [`Acquisition`], reading it slice by slice
/// from `src` (binned first when [`DetectorParams::effective_bin`] > 1; positions are always
/// full-resolution voxels).
///
/// `progress` receives the completed fraction (0 … 1) after every slice pair and stage, and
/// can cancel ([`Progress`]). Errors: invalid parameters, a volume smaller than 8×8×5,
/// non-finite voxels (the message names the slice), read failures, [`Error::Cancelled`]. A
/// flat or bead-free volume gives an empty list.
pub fn detect(
    src: &dyn SliceSource,
    acq: &Acquisition,
    p: &DetectorParams,
    progress: Option<Progress<'_>>,
) -> Result<Detection> {
    p.validate(acq)?;
    check_size(src.dims(), "")?;
    let norm = intensity::normalisation(src, None)?;
    let view = norm.view(src);
    let src: &dyn SliceSource = match &view {
        Some(v) => v,
        None => src,
    };
    let mut det = detect_normalised(src, acq, p, progress)?;
    det.normalisation = norm;
    Ok(det)
}

/// [`detect`] on grey values already in the convention (gold dark, ordinary magnitudes).
fn detect_normalised(
    src: &dyn SliceSource,
    acq: &Acquisition,
    p: &DetectorParams,
    progress: Option<Progress<'_>>,
) -> Result<Detection> {
    let b = p.effective_bin(acq.bead_diameter_px());
    if b > 1 {
        let binned = binned::Binned::new(src, b);
        let why = format!(
            " once binned by {b} for its {:.0} px beads (use bin 1 to detect unbinned)",
            acq.bead_diameter_px()
        );
        check_size(binned.dims(), &why)?;
        let coarse = Acquisition {
            sampling_a: acq.sampling_a * b as f64,
            ..*acq
        };
        let q = DetectorParams {
            bin: 1,
            ..p.clone()
        };
        let mut det = detect_normalised(&binned, &coarse, &q, progress)?;
        det.beads = det.beads.into_iter().map(|q| binned.unbin(q)).collect();
        return Ok(det);
    }
    let dims = src.dims();
    let [nx, ny, _] = dims;
    let d = acq.bead_diameter_px();
    let threads = resolve_threads(p.threads);
    // rustfft takes any 5-smooth side: no power-of-two padding (1440 stays 1440, not 2048).
    let (n, m) = (fast_len(nx), fast_len(ny));
    let bp = BandPass::with_sides(nx, ny, n, m, d, p.bandpass_width).map_err(|e| {
        Error::Invalid(format!("fiducial detector: band-pass for {nx}×{ny}: {e:?}"))
    })?;
    let mut t = StageTimings::default();
    let mut counts = StageCounts::default();

    let t0 = Instant::now();
    let pass = slices::Pass {
        src,
        bp,
        threads,
        min_area: p.min_area,
        sd_thr: p.sd_thr,
        mode: p.threshold_mode,
        samp_slices: p.number_samp_slices,
        frame: p.box_size / 2,
    };
    let out = slices::slice_candidates(&pass, progress)?;
    t.slices = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    let mut cands = out.candidates;
    counts.candidates_2d = cands.iter().map(Vec::len).sum();
    counts.after_voting = assemble::vote(&mut cands, d / 2.0);
    let chains = assemble::chains(&cands, d / 2.0);
    counts.chains = chains.len();
    t.assemble = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    let cen = refine::Centring::new(d);
    let cubes: Vec<Cube> = chains.iter().map(|&c| cen.cube(c)).collect();
    let located = map_cubes(src, &cubes, threads, |i, cube, data| {
        Ok(cen.locate(cube, data)?.unwrap_or(chains[i]))
    })?;
    let inside = |q: &[f64; 3]| (0..3).all(|a| q[a] >= 0.0 && q[a] <= (dims[a] - 1) as f64);
    let centred: Vec<[f64; 3]> = located.into_iter().filter(inside).collect();
    counts.after_centring = centred.len();
    report_progress(progress, 0.9)?;
    let merged = assemble::merge(&centred, d);
    counts.after_merge = merged.len();
    let half = (p.box_size / 2) as f64;
    let unfiltered: Vec<[f64; 3]> = merged
        .into_iter()
        .filter(|q| (0..3).all(|a| q[a] >= half && q[a] + half <= dims[a] as f64))
        .collect();
    counts.after_border = unfiltered.len();
    t.centring = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    let boxes: Vec<Cube> = unfiltered
        .iter()
        .map(|&q| refine::box_cube(q, p.box_size))
        .collect();
    let scores = map_cubes(src, &boxes, threads, |i, cube, data| {
        refine::score(unfiltered[i], cube, data)
    })?;
    let kept: Vec<usize> = (0..unfiltered.len())
        .filter(|&i| scores[i].mirror_r > p.mirror_corr_thr)
        .collect();
    counts.after_mirror = kept.len();
    let bins = p.box_size / 2;
    let flat: Vec<f64> = kept
        .iter()
        .flat_map(|&i| scores[i].profile.iter().copied())
        .collect();
    let mut dist = vec![0.0f64; kept.len()];
    profile::mahalanobis(&flat, bins, &mut dist)
        .map_err(|e| Error::Invalid(format!("fiducial detector: Mahalanobis: {e:?}")))?;
    let filtered: Vec<[f64; 3]> = kept
        .iter()
        .zip(&dist)
        .filter(|(_, &dd)| dd <= p.mahalanobis_thr)
        .map(|(&i, _)| unfiltered[i])
        .collect();
    counts.after_mahalanobis = filtered.len();
    let beads = match p.relaxed_min {
        Some(min) if filtered.len() <= min => {
            counts.relaxed_used = true;
            unfiltered
        }
        _ => filtered,
    };
    t.filters = t0.elapsed().as_secs_f64();
    report_progress(progress, 1.0)?;
    Ok(Detection {
        beads,
        counts,
        threshold: out.threshold,
        timings: t,
        // Set by `detect`, which did the normalising.
        normalisation: Normalisation {
            factor: 1.0,
            polarity: Polarity::Normal,
        },
    })
}

/// Fails unless a volume of `dims` is large enough to detect in; `why` says how the size came
/// about when it is not the user's own.
fn check_size(dims: [usize; 3], why: &str) -> Result<()> {
    let [nx, ny, nz] = dims;
    if nx < 8 || ny < 8 || nz < 5 {
        return Err(Error::Invalid(format!(
            "fiducial detector: volume {nx}×{ny}×{nz}{why} is too small (needs at least 8×8×5)"
        )));
    }
    crate::host::volume::voxel_count(dims)?;
    Ok(())
}

/// Fails, naming the first non-finite voxel in tomogram coordinates, if slice `z` (`nx` wide)
/// holds a NaN or an infinity.
fn check_finite_slice(z: usize, nx: usize, slice: &[f32]) -> Result<()> {
    match slice.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(Error::Invalid(format!(
            "fiducial detector: slice {z} has a non-finite voxel ({}) at x={}, y={}",
            slice[i],
            i % nx,
            i / nx
        ))),
        None => Ok(()),
    }
}

/// Calls `f(i, cube, data)` for every cube, reading the cubes in z-sorted batches (bounded
/// memory) and computing each batch on `threads` threads; results come back in input order.
fn map_cubes<T: Send>(
    src: &dyn SliceSource,
    cubes: &[Cube],
    threads: usize,
    f: impl Fn(usize, &Cube, &[f32]) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    const BATCH_VOXELS: usize = 4 << 20;
    let mut order: Vec<usize> = (0..cubes.len()).collect();
    order.sort_by_key(|&i| (cubes[i].origin[2], i));
    let mut out: Vec<Option<T>> = (0..cubes.len()).map(|_| None).collect();
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        let mut vox = 0;
        while end < order.len()
            && (end == start || vox + cubes[order[end]].edge.pow(3) <= BATCH_VOXELS)
        {
            vox += cubes[order[end]].edge.pow(3);
            end += 1;
        }
        let idx = &order[start..end];
        let batch: Vec<Cube> = idx.iter().map(|&i| cubes[i]).collect();
        let data = refine::gather(src, &batch)?;
        let chunk = idx.len().div_ceil(threads.max(1));
        let results: Vec<Result<Vec<T>>> = std::thread::scope(|s| {
            let hs: Vec<_> = idx
                .chunks(chunk)
                .zip(data.chunks(chunk))
                .map(|(ii, dd)| {
                    let f = &f;
                    s.spawn(move || {
                        ii.iter()
                            .zip(dd)
                            .map(|(&i, d)| f(i, &cubes[i], d))
                            .collect::<Result<Vec<T>>>()
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::Invalid(
                            "fiducial detector: a worker thread panicked".into(),
                        ))
                    })
                })
                .collect()
        });
        let mut pos = start;
        for r in results {
            for v in r? {
                out[order[pos]] = Some(v);
                pos += 1;
            }
        }
        start = end;
    }
    Ok(out
        .into_iter()
        .map(|v| v.expect("every cube was scored"))
        .collect())
}
