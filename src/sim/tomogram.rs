//! Full-tomogram mode: the whole field, images formed in parallel, back-projection split over
//! z-slabs (explicit `std::thread::scope` workers).
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::filter::{Filtered, Filterer};
use super::phantom::{self, Aabb, Object, Slab};
use super::rng::Rng;
use super::wbp::{backproject, Grid};
use super::{
    check_positive, filtered_view, lateral_reach, series, BeadTruth, Microscope, Misalignment,
    PhantomParams,
};
use crate::host::{Error, Result, Volume};

/// A whole tomogram.
#[derive(Clone, Debug, PartialEq)]
pub struct TomogramParams {
    /// `[nx, ny, nz]`, voxels.
    pub dims: [usize; 3],
    /// Voxel size, Å.
    pub sampling_a: f32,
    /// Gold bead diameter, Å.
    pub bead_diameter_a: f32,
    /// Beads whose centres fall in the field (x, y) of the volume; as many again per unit area
    /// are placed in the surrounding band that projects into the images.
    pub n_beads: usize,
    /// Specimen thickness as a fraction of the volume's z extent (overrides
    /// `phantom.slab_thickness_a`).
    pub slab_fraction: f32,
    /// Microscope, tilts and dose.
    pub acquisition: Microscope,
    /// Alignment errors (all zero = aligned).
    pub misalignment: Misalignment,
    /// The specimen besides the beads.
    pub phantom: PhantomParams,
    /// Random seed; results do not depend on the thread count.
    pub seed: u64,
}

impl Default for TomogramParams {
    fn default() -> Self {
        TomogramParams {
            dims: [512, 512, 200],
            sampling_a: 10.0,
            bead_diameter_a: 100.0,
            n_beads: 20,
            slab_fraction: 0.6,
            acquisition: Microscope::default(),
            misalignment: Misalignment::default(),
            phantom: PhantomParams::default(),
            seed: 0,
        }
    }
}

/// Ground truth of a simulated tomogram.
#[derive(Clone, Debug, PartialEq)]
pub struct Truth {
    /// Every bead rendered, in voxel coordinates of the volume (`inside` tells which are in it).
    pub beads: Vec<BeadTruth>,
    /// The applied errors.
    pub misalignment: Misalignment,
    /// Kinds present ("banana", "twister", "bird", "jitter" or "none").
    pub kinds: Vec<&'static str>,
    /// [`Misalignment::label`]: "aligned", "weak" or "strong" (callers may relabel).
    pub label: &'static str,
    pub dims: [usize; 3],
    pub sampling_a: f32,
    pub bead_diameter_a: f32,
    pub seed: u64,
}

impl Truth {
    /// The truth as JSON (the format of `misalign simulate --truth`).
    pub fn to_json(&self) -> serde_json::Value {
        let m = &self.misalignment;
        serde_json::json!({
            "dims": self.dims,
            "sampling_a": self.sampling_a,
            "bead_diameter_a": self.bead_diameter_a,
            "seed": self.seed,
            "label": self.label,
            "kinds": self.kinds,
            "misalignment": {
                "banana_a": m.banana_a, "twister_deg": m.twister_deg,
                "bird_a": m.bird_a, "jitter_a": m.jitter_a,
            },
            "beads": self.beads.iter().map(|b| serde_json::json!({
                "x": b.centre[0], "y": b.centre[1], "z": b.centre[2],
                "diameter_a": b.diameter_a, "inside": b.inside,
            })).collect::<Vec<_>>(),
        })
    }
}

fn validate(p: &TomogramParams, threads: usize) -> Result<()> {
    crate::host::volume::voxel_count(p.dims)?;
    if p.dims.iter().any(|&d| d > 8192) {
        return Err(Error::Invalid(format!(
            "simulate_tomogram: each dimension must be ≤ 8192, got {:?}",
            p.dims
        )));
    }
    check_positive("sampling", p.sampling_a)?;
    check_positive("bead diameter", p.bead_diameter_a)?;
    if !p.slab_fraction.is_finite() || p.slab_fraction <= 0.0 || p.slab_fraction > 1.0 {
        return Err(Error::Invalid(format!(
            "simulate_tomogram: slab fraction must be in (0, 1], got {}",
            p.slab_fraction
        )));
    }
    if p.n_beads > 100_000 || threads == 0 || threads > 256 {
        return Err(Error::Invalid(format!(
            "simulate_tomogram: need ≤ 100000 beads and 1…256 threads, got {} and {threads}",
            p.n_beads
        )));
    }
    p.acquisition.validate()?;
    p.phantom.validate()?;
    super::params::check_misalignment(&p.misalignment)
}

/// Simulates and reconstructs a whole tomogram on `threads` threads. The volume's voxel
/// `dims / 2` (integer division) sits on the field centre; gold is dark. Deterministic given
/// the seed, whatever the thread count.
pub fn simulate_tomogram(p: &TomogramParams, threads: usize) -> Result<(Volume, Truth)> {
    validate(p, threads)?;
    let s = p.sampling_a;
    let grid = Grid {
        dims: p.dims,
        sampling: s,
        origin: [0, 1, 2].map(|a| -((p.dims[a] / 2) as f32) * s),
    };
    let mut ph = p.phantom.clone();
    ph.slab_thickness_a = p.slab_fraction * p.dims[2] as f32 * s;
    let slab = Slab::new(&ph);
    let acq = &p.acquisition;
    let mut rng = Rng::new(p.seed, 2);
    let ice_margin = 800.0;
    let reach = lateral_reach(acq, &p.misalignment, &slab, &grid, ice_margin)?;
    let ext = [p.dims[0] as f32 * s, p.dims[1] as f32 * s];
    let bx = Aabb {
        lo: [grid.origin[0] - reach, grid.origin[1] - ice_margin, 0.0],
        hi: [
            grid.origin[0] + ext[0] + reach,
            grid.origin[1] + ext[1] + ice_margin,
            0.0,
        ],
    };

    let (objects, beads) = place_beads(p, &ph, &slab, &grid, &bx, &mut rng);
    let mut objects = objects;
    phantom::background(&ph, &slab, &bx, &mut rng, &mut objects);

    let ser = series(acq, &p.misalignment, &slab, s, p.seed)?;
    let n = ser.geoms.len();
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Filtered>>> = Mutex::new(vec![None; n]);
    std::thread::scope(|sc| {
        for _ in 0..threads.min(n) {
            sc.spawn(|| {
                let mut f = Filterer::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let img = filtered_view(&mut f, &objects, &ser, i, acq, &grid);
                    if let Ok(mut g) = slots.lock() {
                        g[i] = Some(img);
                    }
                }
            });
        }
    });
    let images: Vec<Filtered> = slots
        .into_inner()
        .map_err(|_| Error::Invalid("simulate_tomogram: an image worker panicked".into()))?
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| Error::Invalid("simulate_tomogram: an image was not formed".into()))?;
    let views: Vec<(f32, &Filtered)> = ser
        .geoms
        .iter()
        .map(|g| g.theta)
        .zip(images.iter())
        .collect();

    let mut vol = Volume::zeros(p.dims, [s; 3])?;
    let plane = p.dims[0] * p.dims[1];
    let per = p.dims[2].div_ceil(threads.min(p.dims[2]));
    std::thread::scope(|sc| {
        for (c, chunk) in vol.data.chunks_mut(per * plane).enumerate() {
            let (grid, views) = (&grid, &views);
            sc.spawn(move || backproject(grid, views, c * per, chunk));
        }
    });
    let truth = Truth {
        beads,
        kinds: p.misalignment.kinds(),
        label: p.misalignment.label(),
        misalignment: p.misalignment.clone(),
        dims: p.dims,
        sampling_a: s,
        bead_diameter_a: p.bead_diameter_a,
        seed: p.seed,
    };
    Ok((vol, truth))
}

/// Beads over the field and the band around it (same areal density), some in small clusters.
fn place_beads(
    p: &TomogramParams,
    ph: &PhantomParams,
    slab: &Slab,
    grid: &Grid,
    bx: &Aabb,
    rng: &mut Rng,
) -> (Vec<Object>, Vec<BeadTruth>) {
    let s = grid.sampling;
    let r = 0.5 * p.bead_diameter_a;
    let field = [grid.dims[0] as f32 * s, grid.dims[1] as f32 * s];
    let band_area = (bx.hi[0] - bx.lo[0]) * (bx.hi[1] - bx.lo[1]);
    let n_band = (p.n_beads as f32 * (band_area / (field[0] * field[1]) - 1.0)).round() as usize;
    let mut centres = Vec::new();
    for k in 0..p.n_beads + n_band {
        let (x, y) = if k < p.n_beads {
            // Inside the field, away from the very edge so the bead is whole.
            let x = grid.origin[0] + rng.range(r as f64, (field[0] - r) as f64) as f32;
            let y = grid.origin[1] + rng.range(r as f64, (field[1] - r) as f64) as f32;
            (x, y)
        } else {
            loop {
                let x = rng.range(bx.lo[0] as f64, bx.hi[0] as f64) as f32;
                let y = rng.range(bx.lo[1] as f64, bx.hi[1] as f64) as f32;
                let inx = x >= grid.origin[0] && x < grid.origin[0] + field[0];
                let iny = y >= grid.origin[1] && y < grid.origin[1] + field[1];
                if !(inx && iny) {
                    break (x, y);
                }
            }
        };
        let z = phantom::bead_z(slab, x, y, r, ph, rng);
        centres.push([x, y, z]);
        if rng.chance(ph.cluster_fraction as f64) {
            // A touching cluster of 1–3 more beads around this one, at the same height.
            for _ in 0..1 + rng.below(3) {
                let a = rng.range(0.0, std::f64::consts::TAU) as f32;
                let d = p.bead_diameter_a * rng.range(1.05, 1.6) as f32;
                centres.push([
                    x + d * a.cos(),
                    y + d * a.sin(),
                    z + rng.range(-0.3, 0.3) as f32 * r,
                ]);
            }
        }
    }
    let objects = centres
        .iter()
        .map(|&c| phantom::bead(c, p.bead_diameter_a, ph))
        .collect();
    let beads = centres
        .iter()
        .map(|c| {
            let v = [0, 1, 2].map(|a| ((c[a] - grid.origin[a]) / s) as f64);
            let inside = (0..3).all(|a| v[a] >= 0.0 && v[a] <= (grid.dims[a] - 1) as f64);
            BeadTruth {
                centre: v,
                diameter_a: p.bead_diameter_a,
                inside,
            }
        })
        .collect();
    (objects, beads)
}
