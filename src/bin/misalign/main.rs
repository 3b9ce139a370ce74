//! `misalign`: the command-line tool. A thin layer over the library: each subcommand lives in
//! its own module with its options (`Args`) and a `run` function.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod check;
#[cfg(feature = "sim")]
mod demo;
mod infer;
mod info;
mod peak;
mod score;
#[cfg(feature = "sim")]
mod simulate;

#[derive(Parser)]
#[command(
    name = "misalign",
    version,
    about = "Detect tilt-series misalignment in cryo-ET tomograms from their gold fiducials"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// How fast this machine scores cubes (the built-in network on synthetic cubes).
    Bench(bench::Args),
    /// Check tomograms for misalignment: beads → cubes → two networks → verdict + report.
    Check(check::Args),
    /// Simulate an aligned and a misaligned tomogram, check both and show the verdicts.
    #[cfg(feature = "sim")]
    Demo(demo::Args),
    /// Xmipp drop-in: score pre-extracted cubes, write the misalignment statistics files.
    Score(score::Args),
    /// Score a stack of 32³ cubes with one network (CSV `index,score`).
    Infer(infer::Args),
    /// Header summary and data statistics of MRC files.
    Info(info::Args),
    /// Find the gold fiducial beads of a tomogram (Xmipp's image_peak_high_contrast).
    Peak(peak::Args),
    /// Simulate a (mis)aligned tomogram with gold beads, its ground truth and PNG slices.
    #[cfg(feature = "sim")]
    Simulate(simulate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), misalign::host::Error> = match cli.command {
        Command::Bench(a) => bench::run(a),
        Command::Check(a) => check::run(a),
        #[cfg(feature = "sim")]
        Command::Demo(a) => demo::run(a),
        Command::Score(a) => score::run(a),
        Command::Infer(a) => infer::run(a),
        Command::Info(a) => info::run(a),
        Command::Peak(a) => peak::run(a),
        #[cfg(feature = "sim")]
        Command::Simulate(a) => simulate::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("misalign: error: {e}");
            ExitCode::FAILURE
        }
    }
}
