//! `misalign`: the command-line tool. A thin layer over the library: each subcommand lives in
//! its own module with its options (`Args`) and a `run` function.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod info;
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
    /// Header summary and data statistics of MRC files.
    Info(info::Args),
    /// Simulate a (mis)aligned tomogram with gold beads, its ground truth and PNG slices.
    Simulate(simulate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), misalign::host::Error> = match cli.command {
        Command::Info(a) => info::run(a),
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
