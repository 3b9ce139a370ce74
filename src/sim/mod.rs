//! Tilt-series and tomogram simulator: phantom, projection, misalignment, weighted back-projection.
//!
//! The specimen (`phantom.rs`) is a slab of analytic objects; each tilt image is rendered from
//! their exact line integrals (`project.rs`) with the geometry *perturbed* by the requested
//! [`Misalignment`] (`misalign.rs`), passed through optics and dose noise and ramp-filtered
//! (`filter.rs`), then back-projected with the *nominal* geometry (`wbp.rs`) — what happens when a
//! wrongly aligned series is reconstructed. Two entry points: [`simulate_region`] (a small cube
//! around one bead, for training data) and [`simulate_tomogram`] (a whole, threaded
//! tomogram). Physics and conventions: docs/simulator.md.
pub(crate) mod filter;
pub(crate) mod misalign;
pub(crate) mod params;
pub(crate) mod phantom;
pub mod pictures;
pub(crate) mod project;
mod region;
pub(crate) mod rng;
mod tomogram;
pub(crate) mod wbp;

pub use params::{Microscope, Misalignment, PhantomParams, TiltScheme};
pub use region::{simulate_region, RegionParams, RegionTruth};
pub use tomogram::{simulate_tomogram, TomogramParams, Truth};

use crate::host::{Error, Result};
use filter::{Filtered, Filterer, ViewSpec};
use phantom::{Object, Slab};
use project::ImageGeom;
use wbp::Grid;

/// One simulated bead, in the output volume's voxel coordinates (0-based, voxel centres at
/// integers, `[x, y, z]`).
#[derive(Clone, Debug, PartialEq)]
pub struct BeadTruth {
    /// Centre, voxels.
    pub centre: [f64; 3],
    /// Diameter, Å.
    pub diameter_a: f32,
    /// Whether the centre lies inside the output volume (beads outside still streak into it).
    pub inside: bool,
}

/// Everything the per-image stages need, shared by both entry points.
struct Series {
    geoms: Vec<ImageGeom>,
    specs: Vec<ViewSpec>,
    ss: usize,
}

/// Builds the per-image geometry and dose for a run.
fn series(
    acq: &Microscope,
    m: &Misalignment,
    slab: &Slab,
    sampling: f32,
    seed: u64,
) -> Result<Series> {
    let angles = acq.angles_deg()?;
    let geoms = misalign::image_geoms(&angles, &acq.tilt, m, seed);
    let per_image = acq.total_dose / angles.len() as f32;
    let specs = geoms
        .iter()
        .enumerate()
        .map(|(i, g)| ViewSpec {
            geom: *g,
            dose_px: per_image
                * sampling
                * sampling
                * (-slab.path(g.theta) / acq.mean_free_path_a).exp(),
            seed,
            stream: 0x1000 + i as u64,
        })
        .collect();
    let ss = ((sampling / acq.pixel_a).ceil() as usize).clamp(3, 8);
    Ok(Series { geoms, specs, ss })
}

/// Forms and filters image `i` of `s` for `grid`.
fn filtered_view(
    f: &mut Filterer,
    objects: &[Object],
    s: &Series,
    i: usize,
    acq: &Microscope,
    grid: &Grid,
) -> Filtered {
    let span = grid.u_span(s.geoms[i].theta);
    f.image(
        objects,
        &s.specs[i],
        acq,
        s.specs.len(),
        grid.sampling,
        span,
        (grid.origin[1], grid.dims[1]),
        s.ss,
    )
}

fn check_positive(what: &str, v: f32) -> Result<()> {
    if !v.is_finite() || v <= 0.0 {
        return Err(Error::Invalid(format!(
            "simulate: {what} must be finite and > 0, got {v}"
        )));
    }
    Ok(())
}

/// How far (Å, along x) an object may sit from a grid and still project into its images:
/// the slab's lateral reach at the highest tilt plus the misalignment displacement.
fn lateral_reach(
    acq: &Microscope,
    m: &Misalignment,
    slab: &Slab,
    grid: &Grid,
    max_obj: f32,
) -> Result<f32> {
    let angles = acq.angles_deg()?;
    let tmax = angles
        .iter()
        .fold(0.0f32, |a, &t| a.max(t.abs()))
        .to_radians();
    let zc = grid.origin[2] + 0.5 * (grid.dims[2] as f32 - 1.0) * grid.sampling;
    let depth = (zc - slab.mid).abs() + slab.half + max_obj;
    let half_w =
        0.5 * grid.dims[0] as f32 * grid.sampling + (filter::MARGIN_U as f32 + 2.0) * grid.sampling;
    let far = grid.origin[0].abs().max(grid.origin[1].abs()) + 2.0 * half_w + depth;
    let disp = m.banana_a.abs()
        + m.bird_a.abs()
        + 5.0 * m.jitter_a
        + m.twister_deg.to_radians().abs() * far;
    Ok(depth * tmax.tan() + max_obj + disp + (half_w / tmax.cos() - half_w))
}
