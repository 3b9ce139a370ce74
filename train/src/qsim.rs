//! A compact region simulator used by the trainer: projections of one gold bead (plus
//! neighbours and protein-like clutter) through a mis-aligned tilt series, ramp-filtered and
//! back-projected (WBP) straight onto the 32³ network grid at bead-diameter/16 sampling.
//!
//! Why here and not `misalign::sim`: the trainer had to start before the project's
//! simulator landed. The physics is the same in kind (line integrals of spheres and blobs,
//! per-tilt detector shifts for the alignment errors, Ram-Lak filtering, back-projection with
//! interpolation) but simpler (no CTF phase flips — defocus is modelled as a Gaussian envelope).
//! Tilt axis = Y; a tilt rotates about Y, so the detector coordinate is
//! `u = x·cosθ + z·sinθ`, `v = y`.
use misalign::net::topology::{CUBE_LEN, EDGE};

use misalign::rng::Rng;

/// Per-tilt alignment error: detector shift in Å along u (⟂ axis) and v (along the axis).
pub type TiltShift = (f64, f64);

/// Everything that defines one simulated region.
#[derive(Clone, Debug)]
pub struct RegionSpec {
    /// Bead diameter in Å (the network grid has diameter/16 Å voxels).
    pub bead_a: f64,
    /// Tomogram pixel size in Å (bead diameter / 5…20 px).
    pub tomo_px_a: f64,
    /// Tilt angles in degrees.
    pub tilts: Vec<f64>,
    /// Detector shift error per tilt, Å.
    pub shifts: Vec<TiltShift>,
    /// True bead centre relative to the region centre, Å (the detector's centring error).
    pub bead_offset_a: [f64; 3],
    /// Other beads (centres relative to the region centre, Å).
    pub neighbours: Vec<[f64; 3]>,
    /// Clutter blobs: centre (Å), σ (Å), amplitude (relative to gold = −1 per Å of path).
    pub blobs: Vec<([f64; 3], f64, f64)>,
    /// Noise σ per tilt image relative to the bead's central projection depth.
    pub noise_rel: f64,
    /// Gaussian envelope σ of the optics/defocus blur, in tomogram pixels.
    pub blur_px: f64,
}

/// Simulates the region and returns the 32³ cube (not yet normalised), x fastest.
pub fn simulate(spec: &RegionSpec, rng: &mut Rng) -> Vec<f32> {
    let vt = spec.bead_a / 16.0; // target voxel, Å
    let pt = spec.tomo_px_a;
    let half = EDGE as f64 / 2.0;
    // Detector extent: the rotated footprint of the cube (√2·half voxels) plus margin.
    let nu = ((2.0 * half * 1.5 * vt) / pt).ceil() as usize + 4;
    let nv = ((2.0 * half * vt) / pt).ceil() as usize + 4;
    let (cu, cv) = (nu as f64 / 2.0, nv as f64 / 2.0);
    let radius = spec.bead_a / 2.0;
    let depth0 = 2.0 * radius; // central path length through the bead
    let mut proj = vec![0f64; nu * nv];
    let mut filt = vec![0f64; nu * nv];
    let mut cube = vec![0f64; CUBE_LEN];
    let ramp = ramp_kernel(nu);
    let blur = gaussian_kernel(spec.blur_px);
    for (ti, &deg) in spec.tilts.iter().enumerate() {
        let th = deg.to_radians();
        let (c, s) = (th.cos(), th.sin());
        let (su, sv) = spec.shifts[ti];
        proj.fill(0.0);
        // Beads: uniform spheres, path length 2·sqrt(R² − d²), 2×2 supersampled per pixel.
        let beads = std::iter::once(&spec.bead_offset_a).chain(spec.neighbours.iter());
        for p in beads {
            let u0 = (p[0] * c + p[2] * s + su) / pt + cu;
            let v0 = (p[1] + sv) / pt + cv;
            let r = radius / pt;
            splat(&mut proj, nu, nv, u0, v0, r + 1.0, |du, dv| {
                let mut acc = 0.0;
                for (ou, ov) in [(-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)] {
                    let d2 = (du + ou) * (du + ou) + (dv + ov) * (dv + ov);
                    if d2 < r * r {
                        acc += 2.0 * (r * r - d2).sqrt() * pt;
                    }
                }
                -acc / 4.0
            });
        }
        // Clutter: 3D Gaussians project to 2D Gaussians of the same σ (separable splat).
        for &(p, sigma, amp) in &spec.blobs {
            let u0 = (p[0] * c + p[2] * s + su) / pt + cu;
            let v0 = (p[1] + sv) / pt + cv;
            let sp = sigma / pt;
            let peak = amp * sigma * (2.0 * std::f64::consts::PI).sqrt();
            splat_gaussian(&mut proj, nu, nv, u0, v0, sp, peak);
        }
        // Thicker specimen at high tilt: less signal, same dose → relatively more noise.
        let noise = spec.noise_rel * depth0 / c.sqrt();
        proj.iter_mut().for_each(|v| *v += noise * rng.normal());
        blur_rows_cols(&mut proj, nu, nv, &blur);
        // Ram-Lak ramp along u, row by row, with a light [¼ ½ ¼] apodisation.
        for row in 0..nv {
            let src = &proj[row * nu..(row + 1) * nu];
            let dst = &mut filt[row * nu..(row + 1) * nu];
            for (i, d) in dst.iter_mut().enumerate() {
                let mut acc = 0.0;
                for (j, &v) in src.iter().enumerate() {
                    acc += v * ramp[i.abs_diff(j)];
                }
                *d = acc;
            }
        }
        smooth_rows(&mut filt, nu, nv);
        backproject(&filt, nu, nv, cu, cv, pt, vt, c, s, &mut cube);
    }
    cube.iter().map(|&v| v as f32).collect()
}

/// Adds `f(du, dv)` (offsets from (u0, v0) in pixels) to every pixel within `reach`.
fn splat(
    img: &mut [f64],
    nu: usize,
    nv: usize,
    u0: f64,
    v0: f64,
    reach: f64,
    f: impl Fn(f64, f64) -> f64,
) {
    let ulo = (u0 - reach).floor().max(0.0) as usize;
    let uhi = ((u0 + reach).ceil().max(0.0) as usize).min(nu);
    let vlo = (v0 - reach).floor().max(0.0) as usize;
    let vhi = ((v0 + reach).ceil().max(0.0) as usize).min(nv);
    for v in vlo..vhi {
        for u in ulo..uhi {
            img[v * nu + u] += f(u as f64 + 0.5 - u0, v as f64 + 0.5 - v0);
        }
    }
}

/// Adds `peak·exp(−d²/2σ²)` around (u0, v0) as an outer product of two 1D profiles.
fn splat_gaussian(img: &mut [f64], nu: usize, nv: usize, u0: f64, v0: f64, sp: f64, peak: f64) {
    let reach = 3.0 * sp + 1.0;
    let ulo = (u0 - reach).floor().max(0.0) as usize;
    let uhi = ((u0 + reach).ceil().max(0.0) as usize).min(nu);
    let vlo = (v0 - reach).floor().max(0.0) as usize;
    let vhi = ((v0 + reach).ceil().max(0.0) as usize).min(nv);
    if ulo >= uhi || vlo >= vhi {
        return;
    }
    let g = |d: f64| (-(d * d) / (2.0 * sp * sp)).exp();
    let gu: Vec<f64> = (ulo..uhi).map(|u| g(u as f64 + 0.5 - u0)).collect();
    for v in vlo..vhi {
        let k = peak * g(v as f64 + 0.5 - v0);
        for (d, w) in img[v * nu + ulo..v * nu + uhi].iter_mut().zip(&gu) {
            *d += k * w;
        }
    }
}

/// Discrete Ram-Lak kernel by distance: ¼ at 0, −1/(π²k²) for odd k, 0 for even k.
fn ramp_kernel(n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| match k {
            0 => 0.25,
            k if k % 2 == 1 => {
                -1.0 / (std::f64::consts::PI * std::f64::consts::PI * (k * k) as f64)
            }
            _ => 0.0,
        })
        .collect()
}

fn gaussian_kernel(sigma: f64) -> Vec<f64> {
    if sigma < 0.05 {
        return vec![1.0];
    }
    let r = (3.0 * sigma).ceil() as isize;
    let k: Vec<f64> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let s: f64 = k.iter().sum();
    k.into_iter().map(|v| v / s).collect()
}

/// Separable blur (clamped edges).
fn blur_rows_cols(img: &mut [f64], nu: usize, nv: usize, k: &[f64]) {
    if k.len() == 1 {
        return;
    }
    let r = (k.len() / 2) as isize;
    let mut tmp = img.to_vec();
    for v in 0..nv {
        for u in 0..nu {
            tmp[v * nu + u] = k
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    w * img
                        [v * nu + (u as isize + i as isize - r).clamp(0, nu as isize - 1) as usize]
                })
                .sum();
        }
    }
    for v in 0..nv {
        for u in 0..nu {
            img[v * nu + u] = k
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    w * tmp
                        [(v as isize + i as isize - r).clamp(0, nv as isize - 1) as usize * nu + u]
                })
                .sum();
        }
    }
}

fn smooth_rows(img: &mut [f64], nu: usize, nv: usize) {
    for row in img.chunks_exact_mut(nu).take(nv) {
        let src = row.to_vec();
        for u in 1..nu - 1 {
            row[u] = 0.25 * src[u - 1] + 0.5 * src[u] + 0.25 * src[u + 1];
        }
    }
}

/// Adds the back-projection of one filtered image onto the cube (bilinear in u and v).
#[allow(clippy::too_many_arguments)]
fn backproject(
    filt: &[f64],
    nu: usize,
    nv: usize,
    cu: f64,
    cv: f64,
    pt: f64,
    vt: f64,
    c: f64,
    s: f64,
    cube: &mut [f64],
) {
    let half = EDGE as f64 / 2.0 - 0.5;
    // v depends on y only: precompute rows and weights.
    let vs: Vec<(usize, f64)> = (0..EDGE)
        .map(|y| {
            let v = ((y as f64 - half) * vt / pt + cv - 0.5).clamp(0.0, nv as f64 - 1.001);
            (v.floor() as usize, v - v.floor())
        })
        .collect();
    for z in 0..EDGE {
        let zz = (z as f64 - half) * vt;
        for x in 0..EDGE {
            let xx = (x as f64 - half) * vt;
            let u = ((xx * c + zz * s) / pt + cu - 0.5).clamp(0.0, nu as f64 - 1.001);
            let (u0, fu) = (u.floor() as usize, u - u.floor());
            for (y, &(v0, fv)) in vs.iter().enumerate() {
                let a = &filt[v0 * nu + u0..];
                let b = &filt[(v0 + 1) * nu + u0..];
                let val = (1.0 - fv) * ((1.0 - fu) * a[0] + fu * a[1])
                    + fv * ((1.0 - fu) * b[0] + fu * b[1]);
                cube[(z * EDGE + y) * EDGE + x] += val;
            }
        }
    }
}
