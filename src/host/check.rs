//! The whole pipeline for one tomogram: beads → cubes → two networks → verdict → report folder.
//!
//! Batch processing and `--watch` live in [`super::batch`]; this module knows one tomogram.
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::decide::{Criterion, Decision, Verdict};
use crate::host::coords::{self, CoordContext};
use crate::host::detector::{self, DetectorParams};
use crate::host::extract::{self, BorderPolicy, BoxRule, ExtractParams, Normalization};
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
}

/// What the pipeline found in one tomogram, before any file is written.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub decision: Decision,
    /// One row per scored bead, in input order (beads whose box left the volume are absent).
    pub beads: Vec<BeadResult>,
    /// The normalised cubes, `beads.len() * CUBE_LEN` values, same order as `beads`.
    pub cubes: Vec<f32>,
    /// Input indices of beads skipped at the borders.
    pub skipped: Vec<usize>,
    /// Real voxel size of the cubes in Å.
    pub cube_sampling_a: f32,
    /// "detector" or the coordinate file.
    pub coords_source: String,
}

/// Runs detection (or takes `positions`), extraction, both networks and the decision on any
/// slice source — a file read lazily, or a volume in memory (the C ABI's route) — of the given
/// acquisition.
///
/// `positions` (0-based voxels) replace the detector when given. `progress` sees detection as
/// 0 … 0.8 (finely), 0.85 after extraction, 0.9 after the strong network and 1.0 at the end;
/// it may cancel ([`Progress`]).
pub fn analyze(
    src: &dyn SliceSource,
    acq: &Acquisition,
    positions: Option<&[[f64; 3]]>,
    params: &CheckParams,
    nets: &Networks,
    progress: Option<Progress<'_>>,
) -> Result<Analysis> {
    acq.validate()?;
    let threads = resolve_threads(params.threads);
    let detected;
    let positions = match positions {
        Some(p) => p,
        None => {
            let dp = DetectorParams {
                threads,
                ..params.detector.clone()
            };
            let scaled = progress.map(|p| move |f: f32| p(0.8 * f));
            let scaled = scaled.as_ref().map(|f| f as Progress<'_>);
            detected = detector::detect(src, acq, &dp, scaled)?.beads;
            &detected
        }
    };

    let ep = ExtractParams {
        acquisition: *acq,
        normalization: params.normalization,
        border: params.border,
        box_rule: BoxRule::Even,
        threads,
    };
    let cubes = extract::extract(src, positions, &ep)?;
    report_progress(progress, 0.85)?;

    // Extraction normalised the cubes already (per cube, or the Xmipp way).
    let Classification {
        decision,
        strong,
        weak,
    } = nets.classify(
        &cubes.cubes,
        params.criterion,
        params.threshold,
        threads,
        || report_progress(progress, 0.9),
    )?;
    report_progress(progress, 1.0)?;
    let beads = cubes
        .beads
        .iter()
        .enumerate()
        .map(|(i, b)| BeadResult {
            input_index: b.input_index,
            position: b.position,
            strong: strong[i],
            weak: weak.as_ref().map(|w| w[i]),
        })
        .collect();
    Ok(Analysis {
        decision,
        beads,
        cubes: cubes.cubes,
        skipped: cubes.skipped,
        cube_sampling_a: cubes.cube_sampling_a,
        coords_source: String::new(),
    })
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
    })
}
