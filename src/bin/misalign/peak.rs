//! `misalign peak`: find the gold fiducial beads of a tomogram (the re-implementation of
//! `xmipp_image_peak_high_contrast`; Xmipp's option spellings are accepted).
use std::cell::Cell;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args as ClapArgs;
use misalign::host::coords::{write_coordinates, CoordContext, CoordFormat};
use misalign::host::detector::{detect, DetectorParams, ThresholdMode};
use misalign::host::mrc::MrcFile;
use misalign::host::{resolve_sampling, Acquisition, Error, Result, SliceSource};

/// Options of `misalign peak`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Input tomogram (MRC; Z must be the beam axis, beads dark).
    #[arg(long = "vol", short = 'i', alias = "input")]
    pub vol: PathBuf,
    /// Output coordinates; format by extension: .xmd (Xmipp, integers, rounded), .star, .csv.
    #[arg(short = 'o', long = "output", default_value = "coordinates3D.xmd")]
    pub output: PathBuf,
    /// Pixel size in Å/px [default: the MRC header's voxel size].
    #[arg(long = "sampling", alias = "samplingRate")]
    pub sampling: Option<f64>,
    /// Bead diameter in Å.
    #[arg(
        long = "fiducial-size",
        alias = "fiducialSize",
        default_value_t = 100.0
    )]
    pub fiducial_size: f64,
    /// Box edge (px) of the filters; box/2 is the border margin.
    #[arg(long = "box-size", alias = "boxSize", default_value_t = 32)]
    pub box_size: usize,
    /// Central slices used for the threshold statistics in --threshold slab mode.
    #[arg(
        long = "number-samp-slices",
        alias = "numberSampSlices",
        default_value_t = 10
    )]
    pub number_samp_slices: usize,
    /// k of the dark-outlier threshold μ − k·σ (Scipion passes 3).
    #[arg(long = "sd-thr", alias = "sdThr", default_value_t = 5.0)]
    pub sd_thr: f64,
    /// Minimum pixel count of a 2D region (Xmipp's help wrongly calls it "points attracted").
    #[arg(
        long = "min-area",
        alias = "numberOfCoordinatesThr",
        alias = "number-of-coordinates-thr",
        default_value_t = 10
    )]
    pub min_area: usize,
    /// Keep a candidate only if its mirror correlation exceeds this.
    #[arg(
        long = "mirror-correlation-thr",
        alias = "mirrorCorrelationThr",
        default_value_t = 0.1
    )]
    pub mirror_correlation_thr: f64,
    /// Remove a candidate whose radial-profile Mahalanobis distance exceeds this.
    #[arg(
        long = "mahalanobis-distance-thr",
        alias = "mahalanobisDistanceThr",
        default_value_t = 2.0
    )]
    pub mahalanobis_distance_thr: f64,
    /// Relaxed mode: if the two filters leave at most N beads, output the unfiltered list.
    /// (Xmipp inverts this: there, the flag's presence means "always filter" and its absence
    /// means "ignore the filters unless they remove everything"; here it does what it says.)
    #[arg(long = "relaxed-mode-thr", alias = "relaxedModeThr", value_name = "N")]
    pub relaxed_mode_thr: Option<usize>,
    /// Raised-cosine width of the band-pass in cycles/px.
    #[arg(long = "bandpass-width", default_value_t = 0.02)]
    pub bandpass_width: f32,
    /// Threshold statistics: per-slice (the paper) or the central slab (Xmipp).
    #[arg(long = "threshold", value_parser = ["slice", "slab"], default_value = "slice")]
    pub threshold: String,
    /// Detect on the tomogram binned by N (positions stay full-resolution); 0 = automatic
    /// (⌊D/10⌋ for beads of D ≥ 20 px), 1 = never, as the original program.
    #[arg(long = "bin", default_value_t = 0, value_name = "N")]
    pub bin: usize,
    /// Worker threads [default: available cores].
    #[arg(long = "threads", short = 'j')]
    pub threads: Option<usize>,
    /// No progress or summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Runs the detector and writes the coordinates.
pub fn run(a: Args) -> Result<()> {
    let format = CoordFormat::from_path(&a.output)?;
    if !matches!(
        format,
        CoordFormat::Xmd | CoordFormat::Star | CoordFormat::Csv
    ) {
        return Err(Error::Invalid(format!(
            "{}: peak writes .xmd, .star or .csv",
            a.output.display()
        )));
    }
    let src = MrcFile::open(&a.vol)?;
    let acq = Acquisition::new(
        resolve_sampling(a.sampling, src.voxel_size(), &a.vol)?,
        a.fiducial_size,
    )?;
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let p = DetectorParams {
        box_size: a.box_size,
        number_samp_slices: a.number_samp_slices,
        sd_thr: a.sd_thr,
        min_area: a.min_area,
        mirror_corr_thr: a.mirror_correlation_thr,
        mahalanobis_thr: a.mahalanobis_distance_thr,
        relaxed_min: a.relaxed_mode_thr,
        bandpass_width: a.bandpass_width,
        bin: a.bin,
        threshold_mode: if a.threshold == "slab" {
            ThresholdMode::CentralSlab
        } else {
            ThresholdMode::PerSlice
        },
        threads,
    };
    let start = Instant::now();
    let last = Cell::new(-1i32);
    let report = |f: f32| {
        // Only for runs that last: nothing in the first second, then whole percents.
        let pct = (f * 100.0) as i32;
        if start.elapsed().as_secs_f64() > 1.0 && pct != last.get() {
            last.set(pct);
            eprint!("\rpeak: {pct:3}%");
        }
        true
    };
    let progress: Option<&dyn Fn(f32) -> bool> = if a.quiet { None } else { Some(&report) };
    let det = detect(&src, &acq, &p, progress)?;
    if !a.quiet && last.get() >= 0 {
        eprintln!();
    }
    if let Some(w) = det.normalisation.warning() {
        eprintln!("warning: {}: {w}", a.vol.display());
    }
    // Xmipp's integer columns: round to the nearest voxel (Xmipp truncated).
    let points: Vec<[f64; 3]> = match format {
        CoordFormat::Xmd => det.beads.iter().map(|b| b.map(f64::round)).collect(),
        _ => det.beads.clone(),
    };
    let ctx = CoordContext {
        dims: Some(src.dims()),
        sampling: Some(acq.sampling_a),
        tomo_name: None,
    };
    write_coordinates(&a.output, &points, format, &ctx)?;
    if !a.quiet {
        let c = det.counts;
        eprintln!(
            "peak: {} beads → {} ({:.1} s; 2D {}, voted {}, chains {}, centred {}, merged {}, inside {}, mirror {}, Mahalanobis {}{})",
            det.beads.len(),
            a.output.display(),
            start.elapsed().as_secs_f64(),
            c.candidates_2d,
            c.after_voting,
            c.chains,
            c.after_centring,
            c.after_merge,
            c.after_border,
            c.after_mirror,
            c.after_mahalanobis,
            if c.relaxed_used { ", relaxed: unfiltered list" } else { "" }
        );
    }
    Ok(())
}
