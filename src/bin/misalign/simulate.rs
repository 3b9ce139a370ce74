//! `misalign simulate`: a synthetic tomogram (MRC) with its ground truth (JSON) and, on request,
//! PNG slices through beads.
use std::path::PathBuf;

use clap::Args as ClapArgs;
use misalign::host::fsutil::write_atomic;
use misalign::host::mrc::{write_volume, MrcMode};
use misalign::host::{resolve_threads, Error, Result};
use misalign::sim::pictures::{crop, write_slices};
use misalign::sim::{simulate_tomogram, PhantomParams, TomogramParams};

use crate::opts::ThreadsOpts;
use crate::term::errln;

/// Options of `misalign simulate`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Output tomogram (MRC, float32).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Ground-truth JSON (bead centres in voxels, misalignment, label).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Volume size NX,NY,NZ in voxels.
    #[arg(long, default_value = "512,512,200")]
    pub dims: String,
    /// Voxel size, Å.
    #[arg(long, default_value_t = 10.0)]
    pub sampling: f32,
    /// Gold bead diameter, Å.
    #[arg(long = "bead-size", default_value_t = 100.0)]
    pub bead_size: f32,
    /// Beads in the field of view (more are placed around it).
    #[arg(long, default_value_t = 20)]
    pub beads: usize,
    /// Specimen thickness as a fraction of the volume's Z.
    #[arg(long = "slab-fraction", default_value_t = 0.6)]
    pub slab_fraction: f32,
    /// Tilt range and step MIN,MAX,STEP in degrees.
    #[arg(long, default_value = "-60,60,3", allow_hyphen_values = true)]
    pub tilt: String,
    /// Dose-symmetric acquisition order (default: bidirectional from 0°).
    #[arg(long = "dose-symmetric")]
    pub dose_symmetric: bool,
    /// Total dose, e⁻/Å².
    #[arg(long, default_value_t = 120.0)]
    pub dose: f32,
    /// Defocus in µm (negative = underfocus) to apply a CTF; without it, no CTF.
    #[arg(long, allow_hyphen_values = true)]
    pub defocus: Option<f32>,
    /// Phase-flip the images before reconstruction (only with --defocus).
    #[arg(long = "phase-flip")]
    pub phase_flip: bool,
    /// Signal-to-noise multiplier (1 = physical dose).
    #[arg(long, default_value_t = 1.0)]
    pub snr: f32,
    /// Beads only: no cellular background or ice contamination.
    #[arg(long = "no-background")]
    pub no_background: bool,
    /// Constant X offset of the tilt axis (bananas), Å.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub banana: f32,
    /// Tilt-axis angle error (twisters), degrees.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub twister: f32,
    /// Y drift from −BIRD to +BIRD along the acquisition (birds), Å.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub bird: f32,
    /// Random per-image X/Y shifts, σ in Å.
    #[arg(long, default_value_t = 0.0)]
    pub jitter: f32,
    /// Write outputs larger than 4 GiB.
    #[arg(long)]
    pub force: bool,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub threads: ThreadsOpts,
    /// Write PNG slices (XY, XZ, YZ through the first beads; whole planes and 4× crops).
    #[arg(long = "png-dir")]
    pub png_dir: Option<PathBuf>,
}

fn numbers<const N: usize>(what: &str, s: &str) -> Result<[f64; N]> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            Error::Invalid(format!(
                "simulate: --{what} needs {N} comma-separated numbers, got {s:?}"
            ))
        })?;
    v.try_into().map_err(|_| {
        Error::Invalid(format!(
            "simulate: --{what} needs {N} comma-separated numbers, got {s:?}"
        ))
    })
}

const GIB: f64 = (1u64 << 30) as f64;

/// Tomograms up to this size are written without --force.
const MAX_UNFORCED_BYTES: f64 = 4.0 * GIB;

/// Builds the parameters from the options (all checks on values are the library's).
pub fn params(a: &Args) -> Result<TomogramParams> {
    let d = numbers::<3>("dims", &a.dims)?;
    if d.iter().any(|&v| v < 1.0 || v.fract() != 0.0 || v > 1e6) {
        return Err(Error::Invalid(format!(
            "simulate: --dims must be positive integers, got {:?}",
            a.dims
        )));
    }
    let bytes = d.iter().product::<f64>() * 4.0;
    if bytes > MAX_UNFORCED_BYTES && !a.force {
        return Err(Error::Invalid(format!(
            "simulate: --dims {} makes a {:.1} GiB tomogram (and needs as much memory); add \
             --force to write it",
            a.dims,
            bytes / GIB
        )));
    }
    // A shift larger than the whole volume is no misalignment anyone acquires, and would size
    // the projections by it.
    let extent = d.iter().fold(0.0f64, |m, &v| m.max(v)) * a.sampling as f64;
    for (name, v) in [("banana", a.banana), ("bird", a.bird), ("jitter", a.jitter)] {
        if !v.is_finite() || (v as f64).abs() > extent || (name == "jitter" && v < 0.0) {
            return Err(Error::Invalid(format!(
                "simulate: --{name} {v} Å: give {}at most the volume's extent, {extent} Å",
                if name == "jitter" {
                    "a value ≥ 0 and "
                } else {
                    ""
                }
            )));
        }
    }
    if !a.twister.is_finite() || a.twister.abs() > 90.0 {
        return Err(Error::Invalid(format!(
            "simulate: --twister {}°: give an angle from -90 to 90",
            a.twister
        )));
    }
    let t = numbers::<3>("tilt", &a.tilt)?;
    let mut p = TomogramParams {
        dims: d.map(|v| v as usize),
        sampling_a: a.sampling,
        bead_diameter_a: a.bead_size,
        n_beads: a.beads,
        slab_fraction: a.slab_fraction,
        seed: a.seed,
        ..Default::default()
    };
    if a.no_background {
        p.phantom = PhantomParams::empty();
    }
    let acq = &mut p.acquisition;
    acq.tilt.min_deg = t[0] as f32;
    acq.tilt.max_deg = t[1] as f32;
    acq.tilt.step_deg = t[2] as f32;
    acq.tilt.dose_symmetric = a.dose_symmetric;
    acq.total_dose = a.dose;
    acq.defocus_um = a.defocus;
    acq.phase_flip = a.phase_flip;
    acq.snr_scale = a.snr;
    if a.phase_flip && a.defocus.is_none() {
        return Err(Error::Invalid(
            "simulate: --phase-flip needs --defocus".into(),
        ));
    }
    let m = &mut p.misalignment;
    m.banana_a = a.banana;
    m.twister_deg = a.twister;
    m.bird_a = a.bird;
    m.jitter_a = a.jitter;
    Ok(p)
}

/// Runs `misalign simulate`.
pub fn run(a: Args) -> Result<()> {
    let p = params(&a)?;
    let (vol, truth) = simulate_tomogram(&p, resolve_threads(a.threads.threads))?;
    write_volume(&a.output, &vol, MrcMode::Float32)?;
    if let Some(t) = &a.truth {
        let text = serde_json::to_string_pretty(&truth.to_json())
            .map_err(|e| Error::Invalid(format!("simulate: serialising the truth: {e}")))?;
        write_atomic(t, text.as_bytes())?;
    }
    if let Some(dir) = &a.png_dir {
        let inside: Vec<_> = truth.beads.iter().filter(|b| b.inside).take(3).collect();
        for (i, b) in inside.iter().enumerate() {
            write_slices(&vol, b.centre, dir, &format!("bead{i}"), 1)?;
            let edge = ((4.0 * p.bead_diameter_a / p.sampling_a).ceil() as usize).clamp(16, 128);
            let (cube, c) = crop(&vol, b.centre, edge)?;
            write_slices(&cube, c, dir, &format!("bead{i}_crop"), 4)?;
        }
    }
    errln!(
        "simulate: wrote {} ({}×{}×{} at {} Å, {} beads inside, label {})",
        a.output.display(),
        p.dims[0],
        p.dims[1],
        p.dims[2],
        p.sampling_a,
        truth.beads.iter().filter(|b| b.inside).count(),
        truth.label
    );
    Ok(())
}
