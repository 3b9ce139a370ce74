//! The specimen: a slab of "cellular" material (Gaussian blobs, bilayer vesicles, filaments),
//! ice contamination and gold beads, all as objects whose projections are known analytically
//! (uniform balls → chord-length discs, Gaussians → Gaussians).
use super::params::PhantomParams;
use super::rng::Rng;

/// Contrast per Å of path through protein (the unit of every other density). A 250 Å
/// ribosome-sized object darkens an image by a few per cent.
pub const PROTEIN_PER_A: f32 = 1.5e-4;

/// Gaussians are rendered out to this many σ (per axis 99.95 % of the mass; the pixel
/// integrals inside are exact).
pub const GAUSS_REACH: f32 = 3.5;

/// The shape of an object.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// A uniform ball of this radius (Å).
    Ball { radius: f32 },
    /// An isotropic Gaussian of this standard deviation (Å); `density` is its peak.
    Gauss { sigma: f32 },
}

/// One object in field coordinates (Å; origin on the tilt axis at the field centre, z = 0 on
/// the tomogram's mid-plane). `density` is contrast per Å of path (negative for the inner
/// balls that hollow out a membrane shell).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Object {
    pub centre: [f32; 3],
    pub shape: Shape,
    pub density: f32,
    /// Fraction of the contrast that is amplitude contrast (electrons scattered out of the
    /// objective aperture: not modulated by the CTF). 0 for biological matter, whose 7 %
    /// amplitude contrast is part of the CTF; large for gold.
    pub amplitude: f32,
}

impl Object {
    /// Radius (Å) outside which the projection is (practically) zero.
    pub fn reach(&self) -> f32 {
        match self.shape {
            Shape::Ball { radius } => radius,
            Shape::Gauss { sigma } => GAUSS_REACH * sigma,
        }
    }
}

/// The ice layer: mid-plane `z = mid + tan_x·x + tan_y·y`, half thickness `half`.
#[derive(Clone, Copy, Debug)]
pub struct Slab {
    pub mid: f32,
    pub tan_x: f32,
    pub tan_y: f32,
    pub half: f32,
}

impl Slab {
    /// The slab of a phantom description.
    pub fn new(p: &PhantomParams) -> Self {
        Slab {
            mid: p.slab_z_a,
            tan_x: p.slab_tilt_deg[0].to_radians().tan(),
            tan_y: p.slab_tilt_deg[1].to_radians().tan(),
            half: 0.5 * p.slab_thickness_a,
        }
    }

    /// Height of the mid-plane at (x, y).
    pub fn mid_at(&self, x: f32, y: f32) -> f32 {
        self.mid + self.tan_x * x + self.tan_y * y
    }

    /// Path length through the slab along the beam at tilt θ (rad, about Y): t / cos(θ − a)
    /// for a slab tilted by a about Y (the small X-tilt is ignored here).
    pub fn path(&self, theta: f32) -> f32 {
        let a = self.tan_x.atan();
        2.0 * self.half / (theta - a).cos().max(0.05)
    }
}

/// An axis-aligned box in field coordinates, `[lo, hi]` per axis (Å).
#[derive(Clone, Copy, Debug)]
pub struct Aabb {
    pub lo: [f32; 3],
    pub hi: [f32; 3],
}

/// A gold bead of `diameter_a` at `centre`.
pub fn bead(centre: [f32; 3], diameter_a: f32, p: &PhantomParams) -> Object {
    Object {
        centre,
        shape: Shape::Ball {
            radius: 0.5 * diameter_a,
        },
        density: p.gold_contrast * PROTEIN_PER_A,
        amplitude: p.gold_amplitude,
    }
}

/// A random bead height for (x, y): on one of the two surfaces (fraction `beads_on_surface`)
/// or anywhere inside the slab.
pub fn bead_z(slab: &Slab, x: f32, y: f32, radius: f32, p: &PhantomParams, rng: &mut Rng) -> f32 {
    let mid = slab.mid_at(x, y);
    let inner = (slab.half - radius).max(0.0);
    if rng.chance(p.beads_on_surface as f64) {
        let side = if rng.chance(0.5) { 1.0 } else { -1.0 };
        // Resting on the ice surface: centre within a fraction of a radius of it.
        mid + side * (slab.half + radius * rng.range(-0.6, 0.2) as f32)
    } else {
        mid + rng.range(-inner as f64, inner as f64) as f32
    }
}

/// Appends the cellular background and the ice contamination whose centres fall in the
/// (x, y) extent of `region` (z always spans the slab) to `out`.
pub fn background(
    p: &PhantomParams,
    slab: &Slab,
    region: &Aabb,
    rng: &mut Rng,
    out: &mut Vec<Object>,
) {
    let (x0, x1) = (region.lo[0], region.hi[0]);
    let (y0, y1) = (region.lo[1], region.hi[1]);
    let area = ((x1 - x0).max(0.0) * (y1 - y0).max(0.0)) as f64;
    let volume_g = area * 2.0 * slab.half as f64 / 1e9;
    let protein = PROTEIN_PER_A;
    let pick = |rng: &mut Rng, margin: f32| -> [f32; 3] {
        let x = rng.range(x0 as f64, x1 as f64) as f32;
        let y = rng.range(y0 as f64, y1 as f64) as f32;
        let room = (slab.half - margin).max(0.0) as f64;
        [x, y, slab.mid_at(x, y) + rng.range(-room, room) as f32]
    };

    for _ in 0..rng.poisson(p.blobs as f64 * volume_g) {
        let sigma = rng.range(12.0, 45.0) as f32;
        let centre = pick(rng, sigma);
        out.push(Object {
            centre,
            shape: Shape::Gauss { sigma },
            density: rng.range(0.8, 2.0) as f32 * protein,
            amplitude: 0.0,
        });
    }

    for _ in 0..rng.poisson(p.vesicles as f64 * volume_g) {
        let rmax = (0.45 * slab.half * 2.0).clamp(200.0, 700.0) as f64;
        let r = rng.range(150.0, rmax) as f32;
        let c = pick(rng, r + 40.0);
        // Two leaflets 40 Å apart, each 20 Å thick: the difference of nested uniform balls.
        let d = 1.5 * protein;
        for (radius, sign) in [
            (r + 30.0, 1.0),
            (r + 10.0, -1.0),
            (r - 10.0, 1.0),
            (r - 30.0, -1.0),
        ] {
            out.push(Object {
                centre: c,
                shape: Shape::Ball { radius },
                density: sign * d,
                amplitude: 0.0,
            });
        }
    }

    for _ in 0..rng.poisson(p.filaments as f64 * volume_g) {
        let sigma = rng.range(20.0, 35.0) as f32;
        let len = rng.range(400.0, 3000.0) as f32;
        let mut pos = pick(rng, 2.0 * sigma);
        let mut phi = rng.range(0.0, std::f64::consts::TAU) as f32;
        let mut elev = rng.range(-0.3, 0.3) as f32;
        let bend = rng.range(-1.0, 1.0) as f32 / 1500.0; // rad per Å: gently curved
                                                         // Subunits 2σ apart (actin-like beading; the ripple along the axis is ~1 %).
        let step = 2.0 * sigma;
        let d = 1.2 * protein;
        let mut walked = 0.0;
        while walked < len {
            out.push(Object {
                centre: pos,
                shape: Shape::Gauss { sigma },
                density: d,
                amplitude: 0.0,
            });
            let (s, c) = phi.sin_cos();
            pos = [
                pos[0] + step * c * elev.cos(),
                pos[1] + step * s * elev.cos(),
                pos[2] + step * elev.sin(),
            ];
            // Stay inside the ice: turn back towards the mid-plane near a surface.
            let dz = pos[2] - slab.mid_at(pos[0], pos[1]);
            if dz.abs() > slab.half - 2.0 * sigma {
                elev = -elev.abs() * dz.signum();
            }
            phi += bend * step;
            elev *= 0.98;
            walked += step;
        }
    }

    let n_ice = rng.poisson(p.ice_per_um2 as f64 * area / 1e8);
    for _ in 0..n_ice {
        let radius = rng.range(300.0, 1500.0) as f32;
        let x = rng.range(x0 as f64, x1 as f64) as f32;
        let y = rng.range(y0 as f64, y1 as f64) as f32;
        let side = if rng.chance(0.5) { 1.0 } else { -1.0 };
        // Contamination sits on the ice: its centre just outside a surface.
        let z = slab.mid_at(x, y) + side * (slab.half + 0.5 * radius);
        out.push(Object {
            centre: [x, y, z],
            shape: Shape::Ball { radius },
            density: rng.range(0.8, 1.2) as f32 * protein,
            amplitude: 0.0,
        });
    }
}
