//! Forward projection: each tilt image is rendered directly from the analytic projections of
//! the phantom's objects (exact line integrals), integrated over every (binned) pixel.
use super::phantom::{Object, Shape};

/// Where one measured image comes from: the nominal tilt, and the misalignment that was in
/// effect when it was formed. Measured `A(u, v) = P(R·(u, v) + shift)` with `R` the twister
/// rotation about the field centre.
#[derive(Clone, Copy, Debug)]
pub struct ImageGeom {
    /// Tilt angle, radians (rotation of the specimen about Y).
    pub theta: f32,
    /// In-plane rotation error, radians.
    pub rot: f32,
    /// Shift error `[du, dv]`, Å.
    pub shift: [f32; 2],
}

impl ImageGeom {
    /// Nominal projection coordinates of a 3D point: `u = x cos θ + z sin θ`, `v = y`.
    #[inline]
    pub fn project(theta_cs: (f32, f32), p: [f32; 3]) -> (f32, f32) {
        let (s, c) = theta_cs;
        (p[0] * c + p[2] * s, p[1])
    }

    /// Where a point `p` appears in the *measured* image, `R⁻¹·(P(p) − shift)`, with the
    /// trigonometry done once for many points.
    pub fn placer(&self) -> impl Fn([f32; 3]) -> (f32, f32) {
        let tcs = self.theta.sin_cos();
        let (s, c) = self.rot.sin_cos();
        let [su, sv] = self.shift;
        move |p| {
            let (u, v) = Self::project(tcs, p);
            let (du, dv) = (u - su, v - sv);
            // R = [[c, −s], [s, c]]; R⁻¹ = Rᵀ.
            (c * du + s * dv, -s * du + c * dv)
        }
    }
}

/// A pixel window of an image: pixel (p, r) is centred at `(u0 + p·pixel, v0 + r·pixel)`.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub u0: f32,
    pub v0: f32,
    pub nu: usize,
    pub nv: usize,
    pub pixel: f32,
}

/// Which part of each object's contrast to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Everything (phase and amplitude).
    All,
    /// The phase part, `(1 − amplitude)·density`.
    Phase,
    /// The amplitude part, `amplitude·density` (objects without one are skipped).
    Amplitude,
}

/// Adds the pixel-averaged projections of `objects` (contrast units) into `out`
/// (`nv` rows of `nu`). `ss` is the sub-sampling per axis used at disc edges.
pub fn render(
    objects: &[Object],
    g: &ImageGeom,
    w: &Window,
    ss: usize,
    part: Part,
    out: &mut [f32],
) {
    debug_assert_eq!(out.len(), w.nu * w.nv);
    let mut pu = Vec::new();
    let mut pv = Vec::new();
    let place = g.placer();
    for o in objects {
        let density = o.density
            * match part {
                Part::All => 1.0,
                Part::Phase => 1.0 - o.amplitude,
                Part::Amplitude => o.amplitude,
            };
        if density == 0.0 {
            continue;
        }
        let (uc, vc) = place(o.centre);
        let reach = o.reach();
        let p_lo = ((uc - reach - w.u0) / w.pixel).floor().max(0.0);
        let p_hi = ((uc + reach - w.u0) / w.pixel)
            .ceil()
            .min(w.nu as f32 - 1.0);
        let r_lo = ((vc - reach - w.v0) / w.pixel).floor().max(0.0);
        let r_hi = ((vc + reach - w.v0) / w.pixel)
            .ceil()
            .min(w.nv as f32 - 1.0);
        if p_lo > p_hi || r_lo > r_hi {
            continue;
        }
        let (p_lo, p_hi, r_lo, r_hi) = (p_lo as usize, p_hi as usize, r_lo as usize, r_hi as usize);
        match o.shape {
            Shape::Gauss { sigma } => {
                gauss_weights(w.u0 - uc, w.pixel, sigma, p_lo, p_hi, &mut pu);
                gauss_weights(w.v0 - vc, w.pixel, sigma, r_lo, r_hi, &mut pv);
                // ∫ρ₀·exp(−r²/2σ²) along the beam, averaged over the pixel area.
                let amp = density * (std::f32::consts::TAU).powf(1.5) * sigma.powi(3)
                    / (w.pixel * w.pixel);
                for (r, &wv) in (r_lo..=r_hi).zip(&pv) {
                    let a = amp * wv;
                    let row = &mut out[r * w.nu + p_lo..=r * w.nu + p_hi];
                    for (o, &wu) in row.iter_mut().zip(&pu) {
                        *o += a * wu;
                    }
                }
            }
            Shape::Ball { radius } => render_ball(
                uc,
                vc,
                radius,
                o.density,
                w,
                ss,
                [p_lo, p_hi, r_lo, r_hi],
                out,
            ),
        }
    }
}

/// Fraction of a unit-mass 1D Gaussian (centre 0, σ) falling in each pixel `lo..=hi` whose
/// centres are at `off + i·pixel`.
fn gauss_weights(off: f32, pixel: f32, sigma: f32, lo: usize, hi: usize, out: &mut Vec<f32>) {
    out.clear();
    let k = 1.0 / (std::f32::consts::SQRT_2 * sigma);
    let edge = |i: usize| libm::erff((off + (i as f32 - 0.5) * pixel) * k);
    let mut prev = edge(lo);
    for i in lo..=hi {
        let next = edge(i + 1);
        out.push(0.5 * (next - prev));
        prev = next;
    }
}

/// Pixel-averaged chord length `2·sqrt(R² − r²)` of a uniform ball: one sample in the smooth
/// interior, `ss²` sub-samples where the pixel touches the rim.
#[allow(clippy::too_many_arguments)]
fn render_ball(
    uc: f32,
    vc: f32,
    radius: f32,
    density: f32,
    w: &Window,
    ss: usize,
    [p_lo, p_hi, r_lo, r_hi]: [usize; 4],
    out: &mut [f32],
) {
    let r2 = radius * radius;
    let half_diag = w.pixel * std::f32::consts::FRAC_1_SQRT_2;
    let inner = (radius - 2.0 * half_diag).max(0.0);
    let outer = radius + half_diag;
    let sub = w.pixel / ss as f32;
    let norm = 1.0 / (ss * ss) as f32;
    for r in r_lo..=r_hi {
        let dv = w.v0 + r as f32 * w.pixel - vc;
        if dv.abs() >= outer {
            continue;
        }
        let row = &mut out[r * w.nu..(r + 1) * w.nu];
        for (p, o) in row.iter_mut().enumerate().take(p_hi + 1).skip(p_lo) {
            let du = w.u0 + p as f32 * w.pixel - uc;
            let d2 = du * du + dv * dv;
            if d2 >= outer * outer {
                continue;
            }
            let chord = if d2 <= inner * inner {
                2.0 * (r2 - d2).sqrt()
            } else {
                let mut acc = 0.0;
                for i in 0..ss {
                    let su = du + (i as f32 + 0.5) * sub - 0.5 * w.pixel;
                    for j in 0..ss {
                        let sv = dv + (j as f32 + 0.5) * sub - 0.5 * w.pixel;
                        let e = r2 - su * su - sv * sv;
                        if e > 0.0 {
                            acc += e.sqrt();
                        }
                    }
                }
                2.0 * acc * norm
            };
            *o += density * chord;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(n: usize, pixel: f32) -> Window {
        let c = -(n as f32 - 1.0) * 0.5 * pixel;
        Window {
            u0: c,
            v0: c,
            nu: n,
            nv: n,
            pixel,
        }
    }

    /// The total projected mass equals the object's volume integral at every tilt.
    #[test]
    fn projected_mass_is_conserved() {
        let w = window(64, 4.0);
        let g = ImageGeom {
            theta: 0.7,
            rot: 0.1,
            shift: [3.0, -5.0],
        };
        let ball = Object {
            centre: [10.0, -7.0, 30.0],
            shape: Shape::Ball { radius: 40.0 },
            density: 1.0,
            amplitude: 0.0,
        };
        let gauss = Object {
            centre: [-20.0, 15.0, -9.0],
            shape: Shape::Gauss { sigma: 9.0 },
            density: 1.0,
            amplitude: 0.0,
        };
        for (o, want) in [
            (ball, 4.0 / 3.0 * std::f64::consts::PI * 40f64.powi(3)),
            (gauss, (std::f64::consts::TAU).powf(1.5) * 9f64.powi(3)),
        ] {
            let mut img = vec![0.0f32; 64 * 64];
            render(&[o], &g, &w, 6, Part::All, &mut img);
            let mass: f64 = img.iter().map(|&v| v as f64).sum::<f64>() * 16.0;
            assert!((mass / want - 1.0).abs() < 2e-3, "mass {mass} vs {want}");
        }
    }

    /// A ball's projection is a disc centred where the geometry puts it, with the chord at
    /// the centre pixel.
    #[test]
    fn ball_lands_where_placed() {
        let w = window(33, 2.0);
        let g = ImageGeom {
            theta: 0.0,
            rot: 0.0,
            shift: [4.0, 0.0],
        };
        let ball = Object {
            centre: [0.0, 0.0, 0.0],
            shape: Shape::Ball { radius: 10.0 },
            density: 1.0,
            amplitude: 0.0,
        };
        let mut img = vec![0.0f32; 33 * 33];
        render(&[ball], &g, &w, 4, Part::All, &mut img);
        // Shift +4 Å in the formed image ⇒ the object appears at u = −4 Å = pixel 14.
        let row = &img[16 * 33..17 * 33];
        let (best, _) = row
            .iter()
            .enumerate()
            .fold((0, 0.0), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
        assert_eq!(best, 14);
        assert!((row[14] - 20.0).abs() < 0.2, "centre chord {}", row[14]);
    }
}
