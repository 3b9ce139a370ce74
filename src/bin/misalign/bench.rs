//! `misalign bench`: how fast this machine scores cubes, for sizing a facility's hardware or
//! checking that the SIMD kernels are in use. (Development benchmarks: `cargo bench`.)
use std::time::Instant;

use clap::Args as ClapArgs;
use misalign::host::infer::score_cubes;
use misalign::host::networks::Networks;
use misalign::host::{resolve_threads, Error, Result};
use misalign::net::kernels::Backend;
use misalign::net::topology::{CUBE_LEN, FLOPS_PER_CUBE};
use misalign::rng::Rng;

use crate::opts::ThreadsOpts;
use crate::term::outln;

/// Time the built-in strong network on synthetic cubes, on one thread and on `--threads`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Cubes per timed round.
    #[arg(long, default_value_t = 64)]
    pub cubes: usize,
    /// Threads of the second measurement.
    #[command(flatten)]
    pub threads: ThreadsOpts,
    /// Timed rounds per measurement (the fastest counts: the least disturbed by other load).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
}

/// Bytes of one cube.
const CUBE_BYTES: usize = CUBE_LEN * std::mem::size_of::<f32>();

/// The most cubes a round times (512 MiB): more measure nothing new and could exhaust memory.
const MAX_CUBES: usize = 4096;

pub fn run(args: Args) -> Result<()> {
    if args.cubes == 0 || args.rounds == 0 {
        return Err(Error::Invalid(
            "bench: --cubes and --rounds must be at least 1".into(),
        ));
    }
    if args.cubes > MAX_CUBES {
        return Err(Error::Invalid(format!(
            "bench: --cubes {} would need {} MiB of cubes; at most {MAX_CUBES} ({} MiB) are \
             timed",
            args.cubes,
            (args.cubes as u128 * CUBE_BYTES as u128) >> 20,
            (MAX_CUBES * CUBE_BYTES) >> 20
        )));
    }
    let threads = resolve_threads(args.threads.threads);
    let nets = Networks::baked()?;
    // Deterministic pseudo-random cubes of unit variance (the values do not affect the speed).
    let mut rng = Rng::new(0, 0);
    let cubes: Vec<f32> = (0..args.cubes * CUBE_LEN)
        .map(|_| rng.range(-1.73, 1.73) as f32)
        .collect();
    outln!(
        "kernels: {} ({})",
        Backend::best().name(),
        std::env::consts::ARCH
    );
    let per_cube = |t: usize| -> Result<f64> {
        score_cubes(nets.strong(), &cubes, false, t)?; // warm-up
        let mut best = f64::INFINITY;
        for _ in 0..args.rounds {
            let start = Instant::now();
            score_cubes(nets.strong(), &cubes, false, t)?;
            best = best.min(start.elapsed().as_secs_f64() / args.cubes as f64);
        }
        outln!(
            "{t} thread(s): {:.3} ms/cube, {:.0} cubes/s, {:.1} GFLOP/s",
            best * 1e3,
            1.0 / best,
            FLOPS_PER_CUBE as f64 / best / 1e9
        );
        Ok(best)
    };
    let one = per_cube(1)?;
    if threads > 1 {
        let many = per_cube(threads)?;
        outln!("{threads} threads give {:.2}× one thread", one / many);
    }
    Ok(())
}
