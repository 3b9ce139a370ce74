//! `misalign score`: drop-in for `xmipp_deep_misalignment_detection` (same options, same files).
use std::path::PathBuf;

use clap::Args as ClapArgs;
use misalign::decide::Criterion;
use misalign::host::xmipp_score::{score_xmipp, SUBTOMO_STATS, TOMO_STATS};
use misalign::host::Result;

use crate::opts::{ThreadsOpts, WeightsOpts};
use crate::term::{errln, outln};

/// Score cubes pre-extracted by Xmipp (`<coords>-1.mrc`, `-2.mrc`, … next to the coordinate
/// file) and write misalignmentSubtomoStatistics.xmd and misalignmentTomoStatistics.xmd beside it.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// The coordinate file the cubes were extracted from (e.g. extra/TS_1/subtomo_coords.xmd).
    #[arg(long = "subtomoFilePath", alias = "subtomo-file-path")]
    pub subtomo_file_path: PathBuf,
    /// Weak-network threshold: class 3 (aligned) if the weak mean is above it, else 2 (weak).
    #[arg(long = "misaliThr", alias = "misali-thr")]
    pub misali_thr: Option<f32>,
    /// Strong stage by votes (fraction of cubes scoring above 0.5) instead of the mean.
    #[arg(
        long = "misalignmentCriteriaVotes",
        alias = "misalignment-criteria-votes"
    )]
    pub votes: bool,
    /// Accepted for compatibility (GPU id of the original); misalign runs on the CPU.
    #[arg(short = 'g', value_name = "GPU")]
    pub gpu: Option<String>,
    #[command(flatten)]
    pub weights: WeightsOpts,
    #[command(flatten)]
    pub threads: ThreadsOpts,
}

pub fn run(args: Args) -> Result<()> {
    let nets = args.weights.networks()?;
    let criterion = if args.votes {
        Criterion::Votes
    } else {
        Criterion::Mean
    };
    let r = score_xmipp(
        &args.subtomo_file_path,
        &nets,
        args.misali_thr,
        criterion,
        args.threads.threads,
    )?;
    let dir = args
        .subtomo_file_path
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    if r.cube_files.is_empty() {
        errln!(
            "misalign: warning: no cube {}-1.mrc found; wrote class 0 (undetermined)",
            args.subtomo_file_path.with_extension("").display()
        );
    }
    outln!(
        "{} cubes: class {} ({}), average score {:.6}; wrote {SUBTOMO_STATS} and {TOMO_STATS} in {dir}",
        r.cube_files.len(),
        r.class_code,
        r.decision.verdict.as_str(),
        r.average
    );
    Ok(())
}
