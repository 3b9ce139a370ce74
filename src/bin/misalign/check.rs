//! `misalign check`: tomogram(s) → verdict, report folder per tomogram.
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args as ClapArgs, ValueEnum};
use misalign::decide::Criterion;
use misalign::host::batch::{self, BatchOptions, ItemResult, WatchOptions};
use misalign::host::check::{BeadSource, CheckParams};
use misalign::host::extract::{BorderPolicy, Normalization};
use misalign::host::fsutil::probe_writable;
use misalign::host::{Error, Result};

use crate::opts::{BeadOpts, DetectorOpts, OutputOpts, QuietOpts, ThreadsOpts, WeightsOpts};
use crate::term::{errln, errp, outln};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CriterionArg {
    Mean,
    Votes,
}

impl From<Criterion> for CriterionArg {
    fn from(c: Criterion) -> Self {
        match c {
            Criterion::Mean => CriterionArg::Mean,
            Criterion::Votes => CriterionArg::Votes,
        }
    }
}

impl From<CriterionArg> for Criterion {
    fn from(c: CriterionArg) -> Self {
        match c {
            CriterionArg::Mean => Criterion::Mean,
            CriterionArg::Votes => Criterion::Votes,
        }
    }
}

/// The normalisations a check can use (the library's raw mode is for pictures and trainers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum NormArg {
    /// Mean 0 / sd 1 per cube (the paper; our weights).
    #[default]
    PerCube,
    /// The original Xmipp pipeline's (background shell, then per tomogram); for imported models.
    Xmipp,
}

impl From<NormArg> for Normalization {
    fn from(n: NormArg) -> Self {
        match n {
            NormArg::PerCube => Normalization::PerCube,
            NormArg::Xmipp => Normalization::Xmipp,
        }
    }
}

/// Check tomograms for tilt-series misalignment and write a report per tomogram.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Tomograms: MRC paths, globs ("tomos/*.mrc"), or list files (.txt one per line, .star).
    #[arg(required_unless_present = "watch")]
    pub tomograms: Vec<String>,
    #[command(flatten)]
    pub bead: BeadOpts,
    /// Bead coordinates from the alignment (IMOD .txt/.xyz, Xmipp .xmd, RELION .star, .csv), in
    /// tomogram voxels; skips the detector. Only with a single tomogram.
    #[arg(long)]
    pub coords: Option<PathBuf>,
    /// Weak-network threshold on the mean score: above → aligned.
    #[arg(
        long,
        alias = "misaliThr",
        default_value_t = default_weak_threshold(),
        conflicts_with = "no_threshold"
    )]
    pub threshold: f32,
    /// No weak threshold: the weak stage decides at 0.5 by --criterion; rank tomograms by the
    /// reported weak mean instead (the paper's "no threshold" mode).
    #[arg(long)]
    pub no_threshold: bool,
    /// How per-bead scores are combined in the strong stage.
    #[arg(long, value_enum, default_value_t = CheckParams::default().criterion.into())]
    pub criterion: CriterionArg,
    #[command(flatten)]
    pub weights: WeightsOpts,
    /// Cube normalisation.
    #[arg(long, value_enum, default_value_t)]
    pub normalization: NormArg,
    /// Pad boxes that leave the volume instead of skipping their beads.
    #[arg(long)]
    pub pad_borders: bool,
    #[command(flatten)]
    pub output: OutputOpts,
    #[command(flatten)]
    pub threads: ThreadsOpts,
    /// Watch a folder and check tomograms as they appear (on-the-fly acquisition); instead of
    /// tomograms on the command line, and with the detector (no --coords).
    #[arg(long, conflicts_with_all = ["tomograms", "coords"])]
    pub watch: Option<PathBuf>,
    /// With --watch: seconds between polls (at least 0.05) [default: 2].
    #[arg(long, requires = "watch", value_name = "SECONDS", value_parser = parse_seconds,
          allow_negative_numbers = true)]
    pub poll: Option<Duration>,
    /// With --watch: stop after this many seconds without a new tomogram.
    #[arg(long, requires = "watch", value_name = "SECONDS", value_parser = parse_seconds,
          allow_negative_numbers = true)]
    pub idle_exit: Option<Duration>,
    #[command(flatten)]
    pub quiet: QuietOpts,
    // Last: its help heading applies to every option declared after it.
    #[command(flatten)]
    pub detector: DetectorOpts,
}

/// Longest accepted --poll / --idle-exit: about 31 years.
const MAX_SECONDS: f64 = 1e9;

/// A number of seconds from 0 to [`MAX_SECONDS`] (NaN, negative, infinite and huge values
/// are refused here rather than panicking in `Duration`).
fn parse_seconds(s: &str) -> std::result::Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.0..=MAX_SECONDS).contains(&v) {
        return Err(format!(
            "{s} seconds: give a number from 0 to {MAX_SECONDS:e}"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// The library's weak threshold (Scipion's), shown as the flag's default; were the library to
/// default to no threshold, 0.5 is where the weak stage then decides.
fn default_weak_threshold() -> f32 {
    CheckParams::default().threshold.unwrap_or(0.5)
}

impl Args {
    /// The pipeline parameters these options give (beads from the detector; `run` switches to
    /// `--coords` once it knows there is one tomogram).
    pub fn params(&self) -> CheckParams {
        // Passed through: 0 (every core) is resolved once, by the batch runner.
        let threads = self.threads.threads;
        CheckParams {
            threshold: (!self.no_threshold).then_some(self.threshold),
            criterion: self.criterion.into(),
            normalization: self.normalization.into(),
            border: if self.pad_borders {
                BorderPolicy::Pad
            } else {
                BorderPolicy::Skip
            },
            threads,
            html: !self.output.no_html,
            detector: self.detector.params(threads),
            ..CheckParams::default()
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let nets = args.weights.networks()?;
    let acquisition = args.bead.input();
    let mut params = args.params();
    let quiet = args.quiet.quiet;
    let tty = std::io::stderr().is_terminal();
    let on_item = move |k: usize, n: usize, item: &ItemResult| {
        let line = match item {
            ItemResult::Done(o) => o.verdict_line(),
            ItemResult::AlreadyDone(p) => format!("{}: already done (use --force)", p.display()),
            ItemResult::Failed(p, e) => format!("{}: ERROR: {e}", p.display()),
        };
        // The verdict is the product: always on stdout. The counter is progress: stderr.
        outln!("{line}");
        // Warnings qualify the verdict: never silenced by --quiet.
        if let ItemResult::Done(o) = item {
            for w in &o.warnings {
                errln!("warning: {}: {w}", o.tomogram.display());
            }
        }
        if !quiet && n > 1 {
            let bar = progress_bar(k, n);
            if tty {
                errp!("\r{bar}");
                if k == n {
                    errln!();
                }
            } else {
                errln!("{bar}");
            }
        }
    };
    let opts = BatchOptions {
        out: &args.output.out,
        force: args.output.force,
        threads: params.threads,
        always_subdirs: args.watch.is_some(),
        on_item: &on_item,
    };

    if args.watch.is_none() && (args.poll.is_some() || args.idle_exit.is_some()) {
        return Err(Error::Invalid(
            "--poll and --idle-exit only apply with --watch DIR".into(),
        ));
    }
    // Before any work: a report that cannot be written is found now, not hours later.
    probe_writable(&args.output.out)?;
    let results = if let Some(dir) = &args.watch {
        if !quiet {
            errln!("watching {} (Ctrl-C to stop)", dir.display());
        }
        let w = WatchOptions {
            poll: args
                .poll
                .unwrap_or(Duration::from_secs(2))
                .max(Duration::from_millis(50)),
            idle_exit: args.idle_exit,
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
            errln!("report: {}", first.out_dir.join("report.html").display());
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
    outln!();
    outln!(
        "{:<32} {:<13} {:>6} {:>8} {:>8}",
        "tomogram",
        "verdict",
        "beads",
        "strong",
        "weak"
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
                outln!(
                    "{:<32} {:<13} {:>6} {:>8} {:>8}",
                    name,
                    o.decision.verdict.as_str(),
                    o.n_beads,
                    s,
                    w
                );
            }
            ItemResult::AlreadyDone(p) => {
                outln!(
                    "{:<32} {:<13}",
                    p.file_name().unwrap_or_default().to_string_lossy(),
                    "(done before)"
                )
            }
            ItemResult::Failed(p, _) => {
                outln!(
                    "{:<32} {:<13}",
                    p.file_name().unwrap_or_default().to_string_lossy(),
                    "ERROR"
                )
            }
        }
    }
}
