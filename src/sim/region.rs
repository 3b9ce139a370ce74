//! Region mode: a small cube around one bead, rendered from images that cover only the cube's
//! footprint (plus filter margins) and from the objects that can project into them.
use super::phantom::{self, Aabb, Object, Slab};
use super::rng::Rng;
use super::wbp::{backproject, Grid};
use super::{
    check_positive, filtered_view, lateral_reach, series, BeadTruth, Microscope, Misalignment,
    PhantomParams,
};
use crate::host::{Error, Result, Volume};

/// A cube around one bead, for training data.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionParams {
    /// Output cube edge, voxels (4 … 512).
    pub edge: usize,
    /// Output voxel size, Å.
    pub sampling_a: f32,
    /// Gold bead diameter, Å.
    pub bead_diameter_a: f32,
    /// Where the cube's centre voxel (`edge / 2` on every axis) sits in the full field, Å,
    /// relative to the field centre on the tilt axis (x ⟂ axis, y along it, z along the beam;
    /// z = 0 is the tomogram mid-plane). Twisters displace beads in proportion to it.
    pub centre_in_field_a: [f32; 3],
    /// Bead centre relative to the cube's centre voxel, in output voxels.
    pub bead_offset_px: [f32; 3],
    /// Extra beads: about half inside the cube, the rest outside it but close enough to
    /// streak into it.
    pub neighbours: usize,
    /// Microscope, tilts and dose.
    pub acquisition: Microscope,
    /// Alignment errors (all zero = aligned).
    pub misalignment: Misalignment,
    /// The specimen around the bead.
    pub phantom: PhantomParams,
    /// Random seed; the same parameters and seed give the same cube bit for bit.
    pub seed: u64,
}

impl Default for RegionParams {
    fn default() -> Self {
        RegionParams {
            edge: 64,
            sampling_a: 100.0 / 16.0,
            bead_diameter_a: 100.0,
            centre_in_field_a: [0.0; 3],
            bead_offset_px: [0.0; 3],
            neighbours: 0,
            acquisition: Microscope::default(),
            misalignment: Misalignment::default(),
            phantom: PhantomParams::default(),
            seed: 0,
        }
    }
}

/// Ground truth of a region: `beads[0]` is the requested bead, the rest are neighbours.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionTruth {
    pub beads: Vec<BeadTruth>,
}

fn validate(p: &RegionParams) -> Result<()> {
    if !(4..=512).contains(&p.edge) {
        return Err(Error::Invalid(format!(
            "simulate_region: edge must be 4…512 voxels, got {}",
            p.edge
        )));
    }
    check_positive("sampling", p.sampling_a)?;
    check_positive("bead diameter", p.bead_diameter_a)?;
    if p.centre_in_field_a
        .iter()
        .any(|v| !v.is_finite() || v.abs() > 1e6)
    {
        return Err(Error::Invalid(format!(
            "simulate_region: region centre must be finite and within 100 µm, got {:?}",
            p.centre_in_field_a
        )));
    }
    if p.bead_offset_px
        .iter()
        .any(|v| !v.is_finite() || v.abs() > p.edge as f32)
    {
        return Err(Error::Invalid(format!(
            "simulate_region: bead offset must be finite and within the cube edge, got {:?}",
            p.bead_offset_px
        )));
    }
    if p.neighbours > 1000 {
        return Err(Error::Invalid(format!(
            "simulate_region: at most 1000 neighbours, got {}",
            p.neighbours
        )));
    }
    p.acquisition.validate()?;
    p.phantom.validate()?;
    super::params::check_misalignment(&p.misalignment)
}

/// Simulates a cube of `edge³` voxels at `sampling_a` around one bead and reconstructs it by
/// WBP. The volume is dark where gold is (values are filtered image intensities minus their
/// mean; arbitrary but consistent units). Single-threaded; deterministic given `seed`.
pub fn simulate_region(p: &RegionParams) -> Result<(Volume, RegionTruth)> {
    validate(p)?;
    let s = p.sampling_a;
    let half = (p.edge / 2) as f32;
    let c = p.centre_in_field_a;
    let grid = Grid {
        dims: [p.edge; 3],
        sampling: s,
        origin: [c[0] - half * s, c[1] - half * s, c[2] - half * s],
    };
    let slab = Slab::new(&p.phantom);
    let acq = &p.acquisition;
    let m = &p.misalignment;
    let mut rng = Rng::new(p.seed, 1);
    let to_vox =
        |q: [f32; 3]| -> [f64; 3] { [0, 1, 2].map(|a| ((q[a] - grid.origin[a]) / s) as f64) };
    let inside = |v: [f64; 3]| v.iter().all(|&x| x >= 0.0 && x <= (p.edge - 1) as f64);

    let centre = [0, 1, 2].map(|a| c[a] + p.bead_offset_px[a] * s);
    let mut objects: Vec<Object> = vec![phantom::bead(centre, p.bead_diameter_a, &p.phantom)];
    let mut truth = vec![BeadTruth {
        centre: to_vox(centre),
        diameter_a: p.bead_diameter_a,
        inside: true,
    }];

    let ice_margin = 800.0;
    let reach = lateral_reach(acq, m, &slab, &grid, ice_margin)?;
    let extent = p.edge as f32 * s;
    let bx = Aabb {
        lo: [grid.origin[0] - reach, grid.origin[1] - ice_margin, 0.0],
        hi: [
            grid.origin[0] + extent + reach,
            grid.origin[1] + extent + ice_margin,
            0.0,
        ],
    };
    let r = 0.5 * p.bead_diameter_a;
    for k in 0..p.neighbours {
        // Alternate: even ones inside the cube, odd ones in the surrounding column.
        let (x, y, z) = if k % 2 == 0 {
            // Anywhere in the cube but not overlapping the requested bead (a few tries; a
            // touching neighbour is acceptable, clusters exist).
            let mut q = centre;
            for _ in 0..32 {
                q = [0, 1, 2].map(|a| grid.origin[a] + rng.range(0.0, extent as f64) as f32);
                let d2: f32 = (0..3).map(|a| (q[a] - centre[a]).powi(2)).sum();
                if d2 >= (2.1 * r).powi(2) {
                    break;
                }
            }
            (q[0], q[1], q[2])
        } else {
            let x = rng.range(bx.lo[0] as f64, bx.hi[0] as f64) as f32;
            let y = rng.range(
                (grid.origin[1] - 4.0 * r) as f64,
                (grid.origin[1] + extent + 4.0 * r) as f64,
            ) as f32;
            (x, y, phantom::bead_z(&slab, x, y, r, &p.phantom, &mut rng))
        };
        objects.push(phantom::bead([x, y, z], p.bead_diameter_a, &p.phantom));
        let v = to_vox([x, y, z]);
        truth.push(BeadTruth {
            centre: v,
            diameter_a: p.bead_diameter_a,
            inside: inside(v),
        });
    }
    phantom::background(&p.phantom, &slab, &bx, &mut rng, &mut objects);

    let ser = series(acq, m, &slab, s, p.seed)?;
    let mut f = super::filter::Filterer::new();
    let images: Vec<_> = (0..ser.geoms.len())
        .map(|i| filtered_view(&mut f, &objects, &ser, i, acq, &grid))
        .collect();
    let views: Vec<(f32, &super::filter::Filtered)> = ser
        .geoms
        .iter()
        .map(|g| g.theta)
        .zip(images.iter())
        .collect();
    let mut vol = Volume::zeros(grid.dims, [s; 3])?;
    backproject(&grid, &views, 0, &mut vol.data);
    Ok((vol, RegionTruth { beads: truth }))
}

/// Profiling of the region renderer's stages (not a pass/fail test: run with
/// `cargo test --lib stage_costs -- --ignored --nocapture`).
#[cfg(test)]
mod stage_costs {
    /// Wall-clock seconds since the first call (run it on an idle machine).
    fn cpu_s() -> f64 {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
    }

    /// Per-stage CPU cost of a 64³ region (run with --ignored --nocapture).
    #[test]
    #[ignore]
    fn region_stage_costs() {
        use crate::rng::Rng;
        use crate::sim::filter::{Filterer, ViewSpec};
        use crate::sim::phantom::{self, Aabb, Slab};
        use crate::sim::project::ImageGeom;
        use crate::sim::wbp::{backproject, Grid};
        use crate::sim::{Microscope, PhantomParams};
        let acq = Microscope::default();
        let s = 6.25f32;
        let grid = Grid {
            dims: [64; 3],
            sampling: s,
            origin: [-200.0; 3],
        };
        let ph = PhantomParams::default();
        let slab = Slab::new(&ph);
        let mut objs = vec![phantom::bead([0.0; 3], 100.0, &ph)];
        let bx = Aabb {
            lo: [-4600.0, -1000.0, 0.0],
            hi: [4600.0, 1000.0, 0.0],
        };
        phantom::background(&ph, &slab, &bx, &mut Rng::new(1, 1), &mut objs);
        eprintln!("{} objects", objs.len());
        let angles = acq.angles_deg().unwrap();
        let mut f = Filterer::new();
        for (name, o) in [("bead only", &objs[..1]), ("background", &objs[..])] {
            let c0 = cpu_s();
            let imgs: Vec<_> = angles
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let geom = ImageGeom {
                        theta: a.to_radians(),
                        rot: 0.0,
                        shift: [0.0; 2],
                    };
                    let spec = ViewSpec {
                        geom,
                        dose_px: 100.0,
                        seed: 1,
                        stream: i as u64,
                    };
                    f.image(
                        o,
                        &spec,
                        &acq,
                        angles.len(),
                        s,
                        grid.u_span(geom.theta),
                        (grid.origin[1], 64),
                        3,
                    )
                })
                .collect();
            let c1 = cpu_s();
            let views: Vec<_> = angles
                .iter()
                .map(|a| a.to_radians())
                .zip(imgs.iter())
                .collect();
            let mut out = vec![0.0f32; 64 * 64 * 64];
            for _ in 0..10 {
                backproject(&grid, &views, 0, &mut out);
            }
            let c2 = cpu_s();
            eprintln!(
                "{name}: images {:.1} ms, backprojection {:.1} ms",
                (c1 - c0) * 1e3,
                (c2 - c1) * 1e2
            );
        }
    }
}
