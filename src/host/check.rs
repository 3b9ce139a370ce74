//! The whole pipeline for one tomogram: beads → cubes → two networks → verdict → report folder.
//!
//! Batch processing and `--watch` live in [`super::batch`]; this module knows one tomogram.
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::decide::{self, Criterion, Decision, Verdict};
use crate::host::coords::{self, CoordContext};
use crate::host::detector::{self, DetectorParams};
use crate::host::extract::{
    self, BorderPolicy, BoxRule, ExtractParams, ExtractedBead, Extraction, Normalization,
};
use crate::host::infer::score_cubes;
use crate::host::intensity;
use crate::host::mrc::MrcFile;
use crate::host::networks::{Classification, Networks};
use crate::host::report::{self, Pictures};
use crate::host::{
    report_progress, resolve_threads, Acquisition, AcquisitionInput, Error, Progress, Result,
    SliceSource,
};

/// Where bead positions come from.
#[derive(Clone, Debug)]
pub enum BeadSource {
    /// Run the fiducial detector on the tomogram.
    Detector,
    /// Read them from a coordinate file (IMOD / XMD / STAR / CSV), in tomogram voxels.
    File(PathBuf),
}

/// How `misalign check` works on a tomogram, with the defaults of the Scipion protocol. The
/// tomogram's voxel size and bead diameter are not here: they come as an [`Acquisition`] (or an
/// [`AcquisitionInput`] still to be resolved against the MRC header).
#[derive(Clone, Debug)]
pub struct CheckParams {
    pub beads: BeadSource,
    /// Weak-network threshold on the mean score (Scipion default 0.45).
    pub threshold: Option<f32>,
    pub criterion: Criterion,
    pub normalization: Normalization,
    pub border: BorderPolicy,
    /// Detector settings other than threads.
    pub detector: DetectorParams,
    /// Worker threads for detection, extraction and scoring; 0 = every core.
    pub threads: usize,
    /// Write `report.html` with pictures (costs a central slice read and PNG encoding).
    pub html: bool,
}

impl CheckParams {
    /// Errors on settings that would decide every tomogram the same way: a weak threshold outside
    /// [0, 1] (or NaN) makes every tomogram aligned or every one weak.
    pub fn validate(&self) -> Result<()> {
        validate_weak_threshold(self.threshold)
    }
}

/// A weak-stage threshold is a probability: NaN, negative or above 1 are refused.
pub fn validate_weak_threshold(threshold: Option<f32>) -> Result<()> {
    match threshold {
        Some(t) if !(0.0..=1.0).contains(&t) => Err(Error::Invalid(format!(
            "the weak threshold must be between 0 and 1 (scores are probabilities), got {t}"
        ))),
        _ => Ok(()),
    }
}

impl Default for CheckParams {
    fn default() -> Self {
        CheckParams {
            beads: BeadSource::Detector,
            threshold: Some(0.45),
            criterion: Criterion::Mean,
            normalization: Normalization::PerCube,
            border: BorderPolicy::Skip,
            detector: DetectorParams::default(),
            threads: 1,
            html: true,
        }
    }
}

/// The outcome of one tomogram, for the summary table and the one-line verdict.
#[derive(Clone, Debug)]
pub struct CheckOutcome {
    pub tomogram: PathBuf,
    pub out_dir: PathBuf,
    pub decision: Decision,
    pub n_beads: usize,
    pub n_skipped: usize,
    pub elapsed_s: f64,
    /// What the user should know (see [`Analysis::warnings`]).
    pub warnings: Vec<String>,
}

impl CheckOutcome {
    /// One line a person understands at a glance.
    pub fn verdict_line(&self) -> String {
        let name = self
            .tomogram
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let d = &self.decision;
        let what = match d.verdict {
            Verdict::Undetermined => format!("{} (no usable bead)", d.verdict.headline()),
            v => v.headline().to_string(),
        };
        let strong = d
            .strong
            .map(|s| format!("strong mean {:.3}", s.mean))
            .unwrap_or_else(|| "strong —".into());
        let weak = d
            .weak
            .map(|s| format!("weak mean {:.3}", s.mean))
            .unwrap_or_else(|| "weak not run".into());
        format!(
            "{name}: {what}  ({} beads, {strong}, {weak}; {:.1} s)",
            self.n_beads, self.elapsed_s
        )
    }
}

/// One scored bead.
#[derive(Clone, Debug, PartialEq)]
pub struct BeadResult {
    /// Row of the bead in the coordinate input (detector output or file).
    pub input_index: usize,
    /// `[x, y, z]` in tomogram voxels (0-based, voxel centres at integers).
    pub position: [f64; 3],
    /// Strong-network score in [0, 1] (1 = aligned).
    pub strong: f32,
    /// Weak-network score; `None` when the weak network was not run.
    pub weak: Option<f32>,
}

/// Everything the pipeline found about one tomogram file: what the report folder presents.
#[derive(Clone, Debug)]
pub struct TomogramResult {
    pub tomogram: PathBuf,
    /// `[nx, ny, nz]`.
    pub dims: [usize; 3],
    /// Tomogram voxel size in Å.
    pub sampling_a: f32,
    /// Bead diameter in Å.
    pub bead_diameter_a: f32,
    /// Real voxel size of the cubes in Å.
    pub cube_sampling_a: f32,
    /// `"detector"` or the coordinate file's path.
    pub coords_source: String,
    pub criterion: Criterion,
    /// The weak-stage threshold t, if any.
    pub threshold: Option<f32>,
    pub decision: Decision,
    /// The scored beads (same order as [`crate::host::report::Pictures::cubes`]).
    pub beads: Vec<BeadResult>,
    /// Beads dropped at the border during extraction.
    pub n_skipped: usize,
    /// Descriptions of the strong and weak weights (file, checksum, origin…).
    pub weights: [String; 2],
    /// Program version.
    pub version: String,
    /// Wall-clock time of the check in seconds.
    pub elapsed_s: f64,
    /// What the user should know about this tomogram (inverted contrast, duplicate beads, …).
    pub warnings: Vec<String>,
}

/// What the pipeline found in one tomogram, before any file is written.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub decision: Decision,
    /// One row per scored bead, in input order (beads whose box left the volume are absent).
    pub beads: Vec<BeadResult>,
    /// The normalised cubes, `beads.len() * CUBE_LEN` values, same order as `beads` — kept only
    /// up to [`SCORE_BATCH`] beads (empty beyond: memory must not grow with the bead count).
    pub cubes: Vec<f32>,
    /// Input indices of beads skipped at the borders.
    pub skipped: Vec<usize>,
    /// Input indices dropped as duplicates of an earlier bead (closer than half a diameter).
    pub duplicates: Vec<usize>,
    /// Real voxel size of the cubes in Å.
    pub cube_sampling_a: f32,
    /// "detector" or the coordinate file.
    pub coords_source: String,
    /// What the user should know about this tomogram (inverted contrast, duplicate beads, …).
    pub warnings: Vec<String>,
}

/// Beads extracted and scored per batch: at most this many cubes (128 MiB) are held at once,
/// however many positions are given.
pub const SCORE_BATCH: usize = 1024;

/// Runs detection (or takes `positions`), extraction, both networks and the decision on any
/// slice source — a file read lazily, or a volume in memory (the C ABI's route) — of the given
/// acquisition.
///
/// `positions` (0-based voxels) replace the detector when given; positions closer than half a
/// bead diameter to an earlier one are dropped as duplicates (with a warning). A tomogram whose
/// contrast is inverted (gold bright) is analysed inverted, with a warning. `progress` sees
/// detection as 0 … 0.8 (finely), 0.85 after extraction, 0.9 after the strong network and 1.0
/// at the end; it may cancel ([`Progress`]).
pub fn analyze(
    src: &dyn SliceSource,
    acq: &Acquisition,
    positions: Option<&[[f64; 3]]>,
    params: &CheckParams,
    nets: &Networks,
    progress: Option<Progress<'_>>,
) -> Result<Analysis> {
    acq.validate()?;
    params.validate()?;
    let threads = resolve_threads(params.threads);
    let mut warnings = Vec::new();
    // `rows[k]`: the input row of the k-th position analysed (they differ once duplicates go).
    let (positions, rows, duplicates, norm) = match positions {
        Some(p) => {
            let (kept, rows, duplicates) = deduplicate(p, acq.bead_diameter_px() / 2.0);
            if !duplicates.is_empty() {
                warnings.push(format!(
                    "{} of {} given bead positions repeat an earlier one (closer than half a \
                     bead diameter) and were ignored",
                    duplicates.len(),
                    p.len()
                ));
            }
            let norm = intensity::normalisation(src, Some(&kept))?;
            (kept, rows, duplicates, norm)
        }
        None => {
            let dp = DetectorParams {
                threads,
                ..params.detector.clone()
            };
            let scaled = progress.map(|p| move |f: f32| p(0.8 * f));
            let scaled = scaled.as_ref().map(|f| f as Progress<'_>);
            let det = detector::detect(src, acq, &dp, scaled)?;
            let rows = (0..det.beads.len()).collect();
            (det.beads, rows, Vec::new(), det.normalisation)
        }
    };
    warnings.extend(norm.warning());
    let view = norm.view(src);
    let src: &dyn SliceSource = match &view {
        Some(v) => v,
        None => src,
    };

    let ep = ExtractParams {
        acquisition: *acq,
        normalization: params.normalization,
        border: params.border,
        box_rule: BoxRule::Even,
        threads,
    };
    let scored = if positions.len() <= SCORE_BATCH {
        let cubes = extract::extract(src, &positions, &ep)?;
        report_progress(progress, 0.85)?;
        // Extraction normalised the cubes already (per cube, or the Xmipp way).
        let c = nets.classify(
            &cubes.cubes,
            params.criterion,
            params.threshold,
            threads,
            || report_progress(progress, 0.9),
        )?;
        Scored::from_parts(cubes, c)
    } else {
        score_in_batches(src, &positions, &ep, params, nets, progress)?
    };
    report_progress(progress, 1.0)?;
    let Scored {
        decision,
        beads,
        strong,
        weak,
        cubes,
        skipped,
        cube_sampling_a,
    } = scored;
    let beads = beads
        .iter()
        .enumerate()
        .map(|(i, b)| BeadResult {
            input_index: rows[b.input_index],
            position: b.position,
            strong: strong[i],
            weak: weak.as_ref().map(|w| w[i]),
        })
        .collect();
    Ok(Analysis {
        decision,
        beads,
        cubes,
        skipped: skipped.into_iter().map(|k| rows[k]).collect(),
        duplicates,
        cube_sampling_a,
        coords_source: String::new(),
        warnings,
    })
}

/// Cubes (when kept) and both networks' scores of one tomogram's beads.
struct Scored {
    decision: Decision,
    beads: Vec<ExtractedBead>,
    strong: Vec<f32>,
    weak: Option<Vec<f32>>,
    cubes: Vec<f32>,
    skipped: Vec<usize>,
    cube_sampling_a: f32,
}

impl Scored {
    fn from_parts(e: Extraction, c: Classification) -> Self {
        Scored {
            decision: c.decision,
            beads: e.beads,
            strong: c.strong,
            weak: c.weak,
            cubes: e.cubes,
            skipped: e.skipped,
            cube_sampling_a: e.cube_sampling_a,
        }
    }
}

/// More beads than one batch: extract and score [`SCORE_BATCH`] at a time, both networks on
/// every batch (the strong verdict is only known at the end; re-reading the tomogram for the
/// weak network would cost more), then the one decision over all scores. The weak scores are
/// dropped again when the strong stage fails, exactly as if the weak network had not run.
fn score_in_batches(
    src: &dyn SliceSource,
    positions: &[[f64; 3]],
    ep: &ExtractParams,
    params: &CheckParams,
    nets: &Networks,
    progress: Option<Progress<'_>>,
) -> Result<Scored> {
    if params.normalization == Normalization::Xmipp {
        return Err(Error::Invalid(format!(
            "{} beads: the Xmipp normalisation standardises all cubes of a tomogram together, \
             which needs them all in memory; use it with at most {SCORE_BATCH} beads, or the \
             default per-cube normalisation",
            positions.len()
        )));
    }
    let threads = ep.threads;
    let (mut beads, mut skipped) = (Vec::new(), Vec::new());
    let (mut strong, mut weak) = (Vec::new(), Vec::new());
    let mut cube_sampling_a = 0.0;
    for (k, batch) in positions.chunks(SCORE_BATCH).enumerate() {
        let offset = k * SCORE_BATCH;
        let e = extract::extract(src, batch, ep)?;
        strong.extend(score_cubes(nets.strong(), &e.cubes, false, threads)?);
        weak.extend(score_cubes(nets.weak(), &e.cubes, false, threads)?);
        beads.extend(e.beads.into_iter().map(|b| ExtractedBead {
            input_index: b.input_index + offset,
            ..b
        }));
        skipped.extend(e.skipped.into_iter().map(|i| i + offset));
        cube_sampling_a = e.cube_sampling_a;
        report_progress(
            progress,
            0.8 + 0.1 * (offset + batch.len()) as f32 / positions.len() as f32,
        )?;
    }
    let passes = decide::summarize(&strong)
        .is_some_and(|s| decide::strong_stage_passes(&s, params.criterion));
    let weak = passes.then_some(weak);
    let decision = decide::decide(&strong, weak.as_deref(), params.criterion, params.threshold);
    Ok(Scored {
        decision,
        beads,
        strong,
        weak,
        cubes: Vec::new(),
        skipped,
        cube_sampling_a,
    })
}

/// Splits `positions` into the ones to keep (with their input indices) and the input indices of
/// those within `min_dist` voxels of an earlier kept one (grid-bucketed: linear in the count).
fn deduplicate(positions: &[[f64; 3]], min_dist: f64) -> (Vec<[f64; 3]>, Vec<usize>, Vec<usize>) {
    use std::collections::HashMap;
    let cell = min_dist.max(1e-9);
    let key = |p: &[f64; 3]| p.map(|v| (v / cell).floor() as i64);
    let mut grid: HashMap<[i64; 3], Vec<usize>> = HashMap::new();
    let (mut kept, mut rows, mut dropped) = (Vec::new(), Vec::new(), Vec::new());
    for (i, p) in positions.iter().enumerate() {
        let k = key(p);
        let mut near = false;
        'search: for dx in -1..=1 {
            for dy in -1..=1 {
                for dz in -1..=1 {
                    // Saturating: absurd coordinates (refused later as outside the volume)
                    // must not overflow the cell index (found by the analyze fuzz target).
                    let nk = [
                        k[0].saturating_add(dx),
                        k[1].saturating_add(dy),
                        k[2].saturating_add(dz),
                    ];
                    for &j in grid.get(&nk).map_or(&[][..], |v| v.as_slice()) {
                        let q: &[f64; 3] = &kept[j];
                        let d2: f64 = (0..3).map(|a| (p[a] - q[a]).powi(2)).sum();
                        if d2 < min_dist * min_dist {
                            near = true;
                            break 'search;
                        }
                    }
                }
            }
        }
        if near {
            dropped.push(i);
        } else {
            grid.entry(k).or_default().push(kept.len());
            kept.push(*p);
            rows.push(i);
        }
    }
    (kept, rows, dropped)
}

/// Checks one tomogram file and writes its report folder `out_dir`; `acquisition` is resolved
/// against the file's header.
pub fn check_tomogram(
    tomogram: &Path,
    acquisition: &AcquisitionInput,
    params: &CheckParams,
    nets: &Networks,
    out_dir: &Path,
) -> Result<CheckOutcome> {
    let start = Instant::now();
    let mrc = MrcFile::open(tomogram)?;
    let dims = mrc.dims();
    let acq = acquisition.resolve(mrc.voxel_size(), tomogram)?;
    let from_file = match &params.beads {
        BeadSource::Detector => None,
        BeadSource::File(path) => {
            let ctx = CoordContext {
                dims: Some(dims),
                sampling: Some(acq.sampling_a),
                ..CoordContext::default()
            };
            Some((
                coords::read_coordinates(path, &ctx)?,
                path.display().to_string(),
            ))
        }
    };
    let mut analysis = analyze(
        &mrc,
        &acq,
        from_file.as_ref().map(|(p, _)| p.as_slice()),
        params,
        nets,
        None,
    )?;
    analysis.coords_source = from_file.map_or_else(|| "detector".to_string(), |(_, s)| s);

    let report = TomogramResult {
        tomogram: tomogram.to_path_buf(),
        dims,
        sampling_a: acq.sampling_a as f32,
        bead_diameter_a: acq.bead_diameter_a as f32,
        cube_sampling_a: analysis.cube_sampling_a,
        coords_source: analysis.coords_source.clone(),
        criterion: params.criterion,
        threshold: params.threshold,
        decision: analysis.decision,
        beads: analysis.beads,
        n_skipped: analysis.skipped.len(),
        weights: nets.descriptions(),
        version: crate::VERSION.to_string(),
        elapsed_s: start.elapsed().as_secs_f64(),
        warnings: analysis.warnings.clone(),
    };
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    if params.html {
        let z = dims[2] / 2;
        let mut slice = vec![0.0f32; dims[0] * dims[1]];
        mrc.read_slice(z, &mut slice)?;
        let pics = Pictures {
            central_slice: &slice,
            slice_dims: [dims[0], dims[1]],
            slice_z: z,
            cubes: &analysis.cubes,
        };
        report::write_report_dir(out_dir, &report, Some(&pics))?;
    } else {
        report::write_report_dir(out_dir, &report, None)?;
    }
    Ok(CheckOutcome {
        tomogram: tomogram.to_path_buf(),
        out_dir: out_dir.to_path_buf(),
        decision: analysis.decision,
        n_beads: report.beads.len(),
        n_skipped: report.n_skipped,
        elapsed_s: start.elapsed().as_secs_f64(),
        warnings: analysis.warnings,
    })
}
