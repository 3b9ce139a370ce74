//! `misalign`: the command-line tool. A thin layer over the library: each subcommand lives in
//! its own module with its options (`Args`) and a `run` function.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod infer;
mod info;
mod peak;
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
    /// Score a stack of 32³ cubes with one network (CSV `index,score`).
    Infer(infer::Args),
    /// Header summary and data statistics of MRC files.
    Info(info::Args),
    /// Find the gold fiducial beads of a tomogram (Xmipp's image_peak_high_contrast).
    Peak(peak::Args),
    /// Simulate a (mis)aligned tomogram with gold beads, its ground truth and PNG slices.
    Simulate(simulate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), misalign::host::Error> = match cli.command {
        Command::Infer(a) => infer::run(a),
        Command::Info(a) => info::run(a),
        Command::Peak(a) => peak::run(a),
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
