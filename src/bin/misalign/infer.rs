//! `misalign infer`: score a stack of 32³ cubes stored as one MRC volume.
use std::io::Write;
use std::path::PathBuf;

use clap::Args as ClapArgs;
use misalign::host::fsutil::write_atomic_with;
use misalign::host::infer::{load_weights, score_cubes};
use misalign::host::mrc::MrcFile;
use misalign::host::{Error, Result, SliceSource};
use misalign::net::topology::{CUBE_LEN, EDGE};

use crate::opts::ThreadsOpts;

/// Score 32³ cubes (one MRC volume of 32×32×(32·N): cube i = sections 32i…32i+31).
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Weight file (.mlw; convert Keras models with tools/keras_to_misalign.py).
    #[arg(long)]
    pub weights: PathBuf,
    /// The cube stack (MRC, any supported mode).
    #[arg(long)]
    pub input: PathBuf,
    /// CSV output `index,score` (default: standard output).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Use the cubes as they are (default: each to mean 0 / sd 1 first).
    #[arg(long)]
    pub no_normalize: bool,
    #[command(flatten)]
    pub threads: ThreadsOpts,
}

pub fn run(args: Args) -> Result<()> {
    let net = load_weights(&args.weights)?;
    let mrc = MrcFile::open(&args.input)?;
    let [nx, ny, nz] = mrc.dims();
    if nx != EDGE || ny != EDGE || nz % EDGE != 0 {
        return Err(Error::Invalid(format!(
            "{}: a cube stack must be {EDGE}×{EDGE}×(32·N) voxels, got {nx}×{ny}×{nz}",
            args.input.display()
        )));
    }
    let n = nz / EDGE;
    let mut cubes = vec![0.0f32; n * CUBE_LEN];
    for (z, slice) in cubes.chunks_exact_mut(EDGE * EDGE).enumerate() {
        mrc.read_slice(z, slice)?;
    }
    let scores = score_cubes(&net, &cubes, !args.no_normalize, args.threads.threads)?;
    let fill = |w: &mut dyn Write| -> std::io::Result<()> {
        writeln!(w, "index,score")?;
        for (i, s) in scores.iter().enumerate() {
            writeln!(w, "{i},{s:.8}")?;
        }
        Ok(())
    };
    match &args.output {
        Some(path) => write_atomic_with(path, fill),
        None => {
            crate::term::out_with(fill);
            Ok(())
        }
    }
}
