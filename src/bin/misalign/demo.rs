//! `misalign demo`: simulate an aligned and a strongly misaligned tomogram, check both, print the
//! verdicts and where the reports are. The bundled example a new user runs first.
use std::path::PathBuf;

use clap::Args as ClapArgs;
use misalign::host::batch::{run_batch, BatchOptions, ItemResult};
use misalign::host::check::CheckParams;
use misalign::host::mrc::{write_volume, MrcMode};
use misalign::host::networks::Networks;
use misalign::host::{resolve_threads, AcquisitionInput, Error, Result};
use misalign::sim::{simulate_tomogram, Misalignment, TomogramParams};

use crate::opts::ThreadsOpts;
use crate::term::{errln, outln};

/// Simulate an aligned and a misaligned tomogram (bananas, 200 Å) and check both.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Output folder for the simulated tomograms and the reports.
    #[arg(long, short = 'o', default_value = "misalign-demo")]
    pub out: PathBuf,
    #[command(flatten)]
    pub threads: ThreadsOpts,
    /// Random seed of the simulation.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
}

pub fn run(args: Args) -> Result<()> {
    let threads = resolve_threads(args.threads.threads);
    let tomo_dir = args.out.join("tomograms");
    std::fs::create_dir_all(&tomo_dir)
        .map_err(|e| Error::io(format!("creating {}", tomo_dir.display()), e))?;
    let cases = [
        ("aligned", Misalignment::default()),
        (
            "banana_200A",
            Misalignment {
                banana_a: 200.0,
                ..Misalignment::default()
            },
        ),
    ];
    let mut paths = Vec::new();
    for (name, mis) in cases {
        let p = TomogramParams {
            misalignment: mis,
            seed: args.seed,
            ..demo_params()
        };
        errln!(
            "simulating {name}: {}×{}×{} voxels at {} Å, {} beads of {} Å …",
            p.dims[0],
            p.dims[1],
            p.dims[2],
            p.sampling_a,
            p.n_beads,
            p.bead_diameter_a
        );
        let (vol, _truth) = simulate_tomogram(&p, threads)?;
        let path = tomo_dir.join(format!("{name}.mrc"));
        write_volume(&path, &vol, MrcMode::Float32)?;
        paths.push(path);
    }

    let nets = Networks::baked()?;
    let params = CheckParams {
        threads,
        ..CheckParams::default()
    };
    let reports = args.out.join("reports");
    let print = |_: usize, _: usize, item: &ItemResult| {
        if let ItemResult::Done(o) = item {
            outln!("{}", o.verdict_line());
        }
    };
    let opts = BatchOptions {
        out: &reports,
        force: true,
        threads,
        always_subdirs: true,
        on_item: &print,
    };
    let results = run_batch(&paths, &AcquisitionInput::default(), &params, &nets, &opts);
    for r in &results {
        match r {
            ItemResult::Done(o) => {
                outln!("  report: {}", o.out_dir.join("report.html").display())
            }
            ItemResult::Failed(p, e) => {
                return Err(Error::Invalid(format!("{}: {e}", p.display())))
            }
            ItemResult::AlreadyDone(_) => {}
        }
    }
    Ok(())
}

/// A small but realistic field: 10 nm gold at 10 Å/voxel, ±60° by 3°.
fn demo_params() -> TomogramParams {
    TomogramParams {
        dims: [400, 400, 120],
        sampling_a: 10.0,
        bead_diameter_a: 100.0,
        n_beads: 24,
        ..TomogramParams::default()
    }
}
