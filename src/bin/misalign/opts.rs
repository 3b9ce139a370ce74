//! Option groups shared by the subcommands, declared once and flattened (`#[command(flatten)]`)
//! where they are used, so a flag has one name, one type and one default everywhere. Defaults
//! come from the library's `Default` impls; Xmipp's spellings are aliases, so Scipion command
//! lines keep working.
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use misalign::host::detector::{DetectorParams, ThresholdMode};
use misalign::host::networks::Networks;
use misalign::host::{Acquisition, AcquisitionInput, Result};

/// The library's detector defaults, the single source of every default below.
fn detector_default() -> DetectorParams {
    DetectorParams::default()
}

/// Where the detector's dark-outlier threshold gets its statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ThresholdStats {
    /// Each slice's own mean and SD (the paper).
    Slice,
    /// The central slab of `--number-samp-slices` slices (the original program).
    Slab,
}

impl From<ThresholdMode> for ThresholdStats {
    fn from(m: ThresholdMode) -> Self {
        match m {
            ThresholdMode::PerSlice => ThresholdStats::Slice,
            ThresholdMode::CentralSlab => ThresholdStats::Slab,
        }
    }
}

impl From<ThresholdStats> for ThresholdMode {
    fn from(t: ThresholdStats) -> Self {
        match t {
            ThresholdStats::Slice => ThresholdMode::PerSlice,
            ThresholdStats::Slab => ThresholdMode::CentralSlab,
        }
    }
}

/// The fiducial detector's settings (`xmipp_image_peak_high_contrast`'s, plus ours).
#[derive(Args, Clone, Debug, PartialEq)]
#[command(next_help_heading = "Detector")]
pub struct DetectorOpts {
    /// Box edge (px) of the filters; box/2 is the border margin.
    #[arg(long = "box-size", alias = "boxSize", value_name = "PX",
          default_value_t = detector_default().box_size)]
    pub box_size: usize,
    /// Central slices the threshold statistics come from with --threshold-stats slab.
    #[arg(long = "number-samp-slices", alias = "numberSampSlices", value_name = "N",
          default_value_t = detector_default().number_samp_slices)]
    pub number_samp_slices: usize,
    /// k of the dark-outlier threshold μ − k·σ (Scipion passes 3).
    #[arg(long = "sd-thr", alias = "sdThr", value_name = "K",
          default_value_t = detector_default().sd_thr)]
    pub sd_thr: f64,
    /// Minimum pixel count of a 2D region (Xmipp's help wrongly calls it "points attracted").
    #[arg(long = "min-area", aliases = ["numberOfCoordinatesThr", "number-of-coordinates-thr"],
          value_name = "PX", default_value_t = detector_default().min_area)]
    pub min_area: usize,
    /// Keep a candidate only if its mirror correlation exceeds this.
    #[arg(long = "mirror-correlation-thr", alias = "mirrorCorrelationThr", value_name = "R",
          default_value_t = detector_default().mirror_corr_thr)]
    pub mirror_correlation_thr: f64,
    /// Remove a candidate whose radial-profile Mahalanobis distance exceeds this.
    #[arg(long = "mahalanobis-distance-thr", alias = "mahalanobisDistanceThr", value_name = "D",
          default_value_t = detector_default().mahalanobis_thr)]
    pub mahalanobis_distance_thr: f64,
    /// Relaxed mode: if the two filters leave at most N beads, output the unfiltered list.
    /// (Xmipp inverts this: there, the flag's presence means "always filter" and its absence
    /// means "ignore the filters unless they remove everything"; here it does what it says.)
    #[arg(long = "relaxed-mode-thr", alias = "relaxedModeThr", value_name = "N")]
    pub relaxed_mode_thr: Option<usize>,
    /// Raised-cosine width of the band-pass in cycles/px.
    #[arg(long = "bandpass-width", value_name = "CYCLES",
          default_value_t = detector_default().bandpass_width)]
    pub bandpass_width: f32,
    /// Threshold statistics: per slice (the paper) or the central slab (the original program).
    #[arg(long = "threshold-stats", value_enum, value_name = "FROM",
          default_value_t = detector_default().threshold_mode.into())]
    pub threshold_stats: ThresholdStats,
    /// Detect on the tomogram binned by N (positions stay full-resolution); 0 = automatic
    /// (⌊D/10⌋ for beads of D ≥ 20 px), 1 = never, as the original program.
    #[arg(long = "bin", alias = "detector-bin", value_name = "N",
          default_value_t = detector_default().bin)]
    pub bin: usize,
}

impl DetectorOpts {
    /// The detector parameters these options give, with `threads` workers (0 = every core).
    pub fn params(&self, threads: usize) -> DetectorParams {
        DetectorParams {
            box_size: self.box_size,
            number_samp_slices: self.number_samp_slices,
            sd_thr: self.sd_thr,
            min_area: self.min_area,
            mirror_corr_thr: self.mirror_correlation_thr,
            mahalanobis_thr: self.mahalanobis_distance_thr,
            relaxed_min: self.relaxed_mode_thr,
            bandpass_width: self.bandpass_width,
            threshold_mode: self.threshold_stats.into(),
            bin: self.bin,
            threads,
        }
    }
}

/// The tomogram's sampling and the gold bead size.
#[derive(Args, Clone, Debug, PartialEq)]
pub struct BeadOpts {
    /// Tomogram voxel size in Å/voxel [default: the MRC header's].
    #[arg(long = "sampling", alias = "samplingRate", value_name = "Å")]
    pub sampling: Option<f64>,
    /// Gold bead diameter in Å.
    #[arg(long = "fiducial-size", alias = "fiducialSize", value_name = "Å",
          default_value_t = AcquisitionInput::default().bead_diameter_a)]
    pub fiducial_size: f64,
}

impl BeadOpts {
    /// What the user said, before any tomogram is opened (the pipeline resolves it per file).
    pub fn input(&self) -> AcquisitionInput {
        AcquisitionInput {
            sampling_a: self.sampling,
            bead_diameter_a: self.fiducial_size,
        }
    }

    /// The acquisition of the tomogram at `path` whose header gives `voxel_size` (used unless
    /// `--sampling` is given), by the library's one `resolve_sampling`.
    pub fn acquisition(&self, voxel_size: [f32; 3], path: &Path) -> Result<Acquisition> {
        self.input().resolve(voxel_size, path)
    }
}

/// How many threads all the work may use.
#[derive(Args, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadsOpts {
    /// Worker threads; 0 = every core.
    #[arg(long = "threads", short = 'j', value_name = "N", default_value_t = 0)]
    pub threads: usize,
}

/// The two networks' weight files (both or neither).
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub struct WeightsOpts {
    /// Strong-network weight file [default: the weights built into misalign; pass converted
    /// Xmipp models here].
    #[arg(
        long = "weights-strong",
        requires = "weights_weak",
        value_name = "FILE"
    )]
    pub weights_strong: Option<PathBuf>,
    /// Weak-network weight file [default: built in].
    #[arg(
        long = "weights-weak",
        requires = "weights_strong",
        value_name = "FILE"
    )]
    pub weights_weak: Option<PathBuf>,
}

impl WeightsOpts {
    /// The networks: from the two files when given, else the built-in weights.
    pub fn networks(&self) -> Result<Networks> {
        match (&self.weights_strong, &self.weights_weak) {
            (Some(s), Some(w)) => Networks::from_files(s, w),
            _ => Networks::baked(),
        }
    }
}

/// Where a report goes and how much of it.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub struct OutputOpts {
    /// Output folder (one sub-folder per tomogram when several are given).
    #[arg(
        long = "out",
        short = 'o',
        value_name = "DIR",
        default_value = "misalign-out"
    )]
    pub out: PathBuf,
    /// Recompute tomograms whose report is already complete.
    #[arg(long)]
    pub force: bool,
    /// Skip the HTML report and its pictures (faster in large batches).
    #[arg(long = "no-html")]
    pub no_html: bool,
}

/// Silence on stderr.
#[derive(Args, Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietOpts {
    /// No progress or summary lines on stderr.
    #[arg(long = "quiet", short = 'q')]
    pub quiet: bool,
}
