//! `misalign peak`: find the gold fiducial beads of a tomogram (the re-implementation of
//! `xmipp_image_peak_high_contrast`; Xmipp's option spellings are accepted).
use std::cell::Cell;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args as ClapArgs;
use misalign::host::coords::{write_coordinates, CoordContext, CoordFormat};
use misalign::host::detector::detect;
use misalign::host::mrc::MrcFile;
use misalign::host::{Error, Result, SliceSource};

use crate::opts::{BeadOpts, DetectorOpts, QuietOpts, ThreadsOpts};
use crate::term::{errln, errp};

/// Options of `misalign peak`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Input tomogram (MRC; Z must be the beam axis, beads dark).
    #[arg(long = "vol", short = 'i', alias = "input")]
    pub vol: PathBuf,
    /// Output coordinates; format by extension: .xmd (Xmipp, integers, rounded), .star, .csv.
    #[arg(short = 'o', long = "output", default_value = "coordinates3D.xmd")]
    pub output: PathBuf,
    #[command(flatten)]
    pub bead: BeadOpts,
    #[command(flatten)]
    pub threads: ThreadsOpts,
    #[command(flatten)]
    pub quiet: QuietOpts,
    // Last: its help heading applies to every option declared after it.
    #[command(flatten)]
    pub detector: DetectorOpts,
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
    let acq = a.bead.acquisition(src.voxel_size(), &a.vol)?;
    let p = a.detector.params(a.threads.threads);
    let quiet = a.quiet.quiet;
    let start = Instant::now();
    let last = Cell::new(-1i32);
    let report = |f: f32| {
        // Only for runs that last: nothing in the first second, then whole percents.
        let pct = (f * 100.0) as i32;
        if start.elapsed().as_secs_f64() > 1.0 && pct != last.get() {
            last.set(pct);
            errp!("\rpeak: {pct:3}%");
        }
        true
    };
    let progress: Option<&dyn Fn(f32) -> bool> = if quiet { None } else { Some(&report) };
    let det = detect(&src, &acq, &p, progress)?;
    if !quiet && last.get() >= 0 {
        errln!();
    }
    if let Some(w) = det.normalisation.warning() {
        errln!("warning: {}: {w}", a.vol.display());
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
    if !quiet {
        let c = det.counts;
        errln!(
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
