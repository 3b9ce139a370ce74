//! `misalign check`: tomogram(s) → verdict, report folder per tomogram.
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args as ClapArgs, ValueEnum};
use misalign::decide::Criterion;
use misalign::host::batch::{self, BatchOptions, ItemResult, WatchOptions};
use misalign::host::check::{BeadSource, CheckParams};
use misalign::host::extract::{BorderPolicy, Normalization};
use misalign::host::networks::Networks;
use misalign::host::{AcquisitionInput, Error, Result};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CriterionArg {
    Mean,
    Votes,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum NormArg {
    /// Mean 0 / sd 1 per cube (the paper; our weights).
    PerCube,
    /// The original Xmipp pipeline's (background shell, then per tomogram); for imported models.
    Xmipp,
}

/// Check tomograms for tilt-series misalignment and write a report per tomogram.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Tomograms: MRC paths, globs ("tomos/*.mrc"), or list files (.txt one per line, .star).
    #[arg(required_unless_present = "watch")]
    pub tomograms: Vec<String>,
    /// Gold bead diameter in Å.
    #[arg(
        long = "fiducial-size",
        alias = "fiducialSize",
        default_value_t = 100.0
    )]
    pub fiducial_size: f32,
    /// Bead coordinates from the alignment (IMOD .txt/.xyz, Xmipp .xmd, RELION .star, .csv), in
    /// tomogram voxels; skips the detector. Only with a single tomogram.
    #[arg(long)]
    pub coords: Option<PathBuf>,
    /// Tomogram voxel size in Å (default: from the MRC header).
    #[arg(long, alias = "samplingRate")]
    pub sampling: Option<f32>,
    /// Weak-network threshold on the mean score: above → aligned.
    #[arg(
        long,
        alias = "misaliThr",
        default_value_t = 0.45,
        conflicts_with = "no_threshold"
    )]
    pub threshold: f32,
    /// No weak threshold: the weak stage decides at 0.5 by --criterion; rank tomograms by the
    /// reported weak mean instead (the paper's "no threshold" mode).
    #[arg(long)]
    pub no_threshold: bool,
    /// How per-bead scores are combined in the strong stage.
    #[arg(long, value_enum, default_value_t = CriterionArg::Mean)]
    pub criterion: CriterionArg,
    /// Strong-network weight file (default: the weights built into misalign).
    #[arg(long = "weights-strong", requires = "weights_weak")]
    pub weights_strong: Option<PathBuf>,
    /// Weak-network weight file (default: built in).
    #[arg(long = "weights-weak", requires = "weights_strong")]
    pub weights_weak: Option<PathBuf>,
    /// Cube normalisation.
    #[arg(long, value_enum, default_value_t = NormArg::PerCube)]
    pub normalization: NormArg,
    /// Pad boxes that leave the volume instead of skipping their beads.
    #[arg(long)]
    pub pad_borders: bool,
    /// Output folder (one sub-folder per tomogram when several are given).
    #[arg(long, short = 'o', default_value = "misalign-out")]
    pub out: PathBuf,
    /// Worker threads.
    #[arg(long, short = 'j', default_value_t = default_threads())]
    pub threads: usize,
    /// Recompute tomograms whose report is already complete.
    #[arg(long)]
    pub force: bool,
    /// Watch a folder and check tomograms as they appear (on-the-fly acquisition).
    #[arg(long)]
    pub watch: Option<PathBuf>,
    /// With --watch: seconds between polls.
    #[arg(long, default_value_t = 2.0)]
    pub poll: f64,
    /// With --watch: stop after this many seconds without a new tomogram.
    #[arg(long)]
    pub idle_exit: Option<f64>,
    /// Skip the HTML report and its pictures (faster in large batches).
    #[arg(long)]
    pub no_html: bool,
    /// Detector: outlier threshold in standard deviations.
    #[arg(long, alias = "sdThr")]
    pub sd_thr: Option<f64>,
    /// Detector: work on the tomogram binned by N; 0 = automatic (⌊D/10⌋ for beads of
    /// D ≥ 20 px), 1 = never.
    #[arg(long = "detector-bin", default_value_t = 0, value_name = "N")]
    pub detector_bin: usize,
    /// No progress lines on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub fn run(args: Args) -> Result<()> {
    let nets = match (&args.weights_strong, &args.weights_weak) {
        (Some(s), Some(w)) => Networks::from_files(s, w)?,
        _ => Networks::baked()?,
    };
    let acquisition = AcquisitionInput {
        sampling_a: args.sampling.map(f64::from),
        bead_diameter_a: args.fiducial_size as f64,
    };
    let mut params = CheckParams {
        threshold: (!args.no_threshold).then_some(args.threshold),
        criterion: match args.criterion {
            CriterionArg::Mean => Criterion::Mean,
            CriterionArg::Votes => Criterion::Votes,
        },
        normalization: match args.normalization {
            NormArg::PerCube => Normalization::PerCube,
            NormArg::Xmipp => Normalization::Xmipp,
        },
        border: if args.pad_borders {
            BorderPolicy::Pad
        } else {
            BorderPolicy::Skip
        },
        threads: args.threads.max(1),
        html: !args.no_html,
        ..CheckParams::default()
    };
    if let Some(k) = args.sd_thr {
        params.detector.sd_thr = k;
    }
    params.detector.bin = args.detector_bin;
    let quiet = args.quiet;
    let tty = std::io::stderr().is_terminal();
    let on_item = move |k: usize, n: usize, item: &ItemResult| {
        let line = match item {
            ItemResult::Done(o) => o.verdict_line(),
            ItemResult::AlreadyDone(p) => format!("{}: already done (use --force)", p.display()),
            ItemResult::Failed(p, e) => format!("{}: ERROR: {e}", p.display()),
        };
        // The verdict is the product: always on stdout. The counter is progress: stderr.
        println!("{line}");
        // Warnings qualify the verdict: never silenced by --quiet.
        if let ItemResult::Done(o) = item {
            for w in &o.warnings {
                eprintln!("warning: {}: {w}", o.tomogram.display());
            }
        }
        if !quiet && n > 1 {
            let bar = progress_bar(k, n);
            if tty {
                eprint!("\r{bar}");
                if k == n {
                    eprintln!();
                }
            } else {
                eprintln!("{bar}");
            }
        }
    };
    let opts = BatchOptions {
        out: &args.out,
        force: args.force,
        threads: params.threads,
        always_subdirs: args.watch.is_some(),
        on_item: &on_item,
    };

    let results = if let Some(dir) = &args.watch {
        if !quiet {
            eprintln!("watching {} (Ctrl-C to stop)", dir.display());
        }
        let w = WatchOptions {
            poll: Duration::from_secs_f64(args.poll.max(0.05)),
            idle_exit: args.idle_exit.map(Duration::from_secs_f64),
        };
        batch::watch(dir, &acquisition, &params, &nets, &opts, &w)?
    } else {
        let tomos = batch::expand_inputs(&args.tomograms)?;
        if tomos.is_empty() {
            return Err(Error::Invalid("no tomogram given".into()));
        }
        if let Some(c) = &args.coords {
            if tomos.len() > 1 {
                return Err(Error::Invalid(
                    "--coords belongs to one tomogram; give a single tomogram with it".into(),
                ));
            }
            params.beads = BeadSource::File(c.clone());
        }
        batch::run_batch(&tomos, &acquisition, &params, &nets, &opts)
    };

    if results.len() > 1 {
        print_summary(&results);
    }
    if let Some(first) = results.iter().find_map(|r| match r {
        ItemResult::Done(o) => Some(o),
        _ => None,
    }) {
        if !quiet && results.len() == 1 {
            eprintln!("report: {}", first.out_dir.join("report.html").display());
        }
    }
    let failed = results
        .iter()
        .filter(|r| matches!(r, ItemResult::Failed(..)))
        .count();
    if failed > 0 {
        return Err(Error::Invalid(format!(
            "{failed} of {} tomograms failed (see above)",
            results.len()
        )));
    }
    Ok(())
}

fn progress_bar(k: usize, n: usize) -> String {
    const WIDTH: usize = 30;
    let filled = k * WIDTH / n.max(1);
    format!(
        "[{}{}] {k}/{n}",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled)
    )
}

fn print_summary(results: &[ItemResult]) {
    println!();
    println!(
        "{:<32} {:<13} {:>6} {:>8} {:>8}",
        "tomogram", "verdict", "beads", "strong", "weak"
    );
    for r in results {
        match r {
            ItemResult::Done(o) => {
                let name = o.tomogram.file_name().unwrap_or_default().to_string_lossy();
                let s = o
                    .decision
                    .strong
                    .map_or("-".into(), |s| format!("{:.3}", s.mean));
                let w = o
                    .decision
                    .weak
                    .map_or("-".into(), |s| format!("{:.3}", s.mean));
                println!(
                    "{:<32} {:<13} {:>6} {:>8} {:>8}",
                    name,
                    o.decision.verdict.as_str(),
                    o.n_beads,
                    s,
                    w
                );
            }
            ItemResult::AlreadyDone(p) => {
                println!(
                    "{:<32} {:<13}",
                    p.file_name().unwrap_or_default().to_string_lossy(),
                    "(done before)"
                )
            }
            ItemResult::Failed(p, _) => {
                println!(
                    "{:<32} {:<13}",
                    p.file_name().unwrap_or_default().to_string_lossy(),
                    "ERROR"
                )
            }
        }
    }
}
