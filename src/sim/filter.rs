//! Image formation (optics, dose noise) and the weighted-back-projection filter.
//!
//! Without a CTF an image is `exp(−c)` (c = projected contrast) plus Gaussian noise of variance
//! `I / dose` (Poisson, Gaussian approximation), then row-wise ramp filtering. With a CTF the
//! weak-phase image `1 + T ⊛ c` is formed in Fourier space, white noise of variance `1 / dose`
//! is added there, and the (optional) phase flip and the ramp are applied in the same
//! transform.
use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use super::params::Microscope;
use super::phantom::Object;
use super::project::{render, ImageGeom, Part, Window};
use super::rng::{NormalTable, Rng};
use crate::host::fft::fast_len;

/// Electron wavelength at 300 kV, Å.
const LAMBDA_A: f32 = 0.019_687;
/// Spherical aberration, Å (2.7 mm).
const CS_A: f32 = 2.7e7;
/// Amplitude contrast fraction.
const AMP_CONTRAST: f32 = 0.07;
/// Pixels the window extends beyond what the reconstruction needs, along u; the outer
/// `TAPER` of them fade to zero so that the filters see no hard edge.
pub const MARGIN_U: usize = 32;
/// Rows added above and below when a CTF (2D filter) is used.
pub const MARGIN_V: usize = 16;
const TAPER: usize = 16;

/// One filtered image, ready to back-project: row `j` is the grid's row `j`.
#[derive(Clone, Debug)]
pub struct Filtered {
    pub u0: f32,
    pub nu: usize,
    pub data: Vec<f32>,
}

/// What the filter needs to know about one image.
#[derive(Clone, Copy, Debug)]
pub struct ViewSpec {
    pub geom: ImageGeom,
    /// Electrons per (binned) pixel reaching the detector (after inelastic losses).
    pub dose_px: f32,
    /// Random stream of this image's noise.
    pub seed: u64,
    pub stream: u64,
}

/// Per-thread scratch: FFT plans and buffers, reused across images.
pub struct Filterer {
    planner: FftPlanner<f32>,
    buf: Vec<Complex32>,
    tbuf: Vec<Complex32>,
    img: Vec<f32>,
    noise: Vec<f32>,
    amp: Vec<f32>,
    table: &'static NormalTable,
}

impl Default for Filterer {
    fn default() -> Self {
        Self::new()
    }
}

impl Filterer {
    /// Empty scratch.
    pub fn new() -> Self {
        Filterer {
            planner: FftPlanner::new(),
            buf: Vec::new(),
            tbuf: Vec::new(),
            img: Vec::new(),
            noise: Vec::new(),
            amp: Vec::new(),
            table: NormalTable::shared(),
        }
    }

    fn plans(&mut self, n: usize) -> (Arc<dyn Fft<f32>>, Arc<dyn Fft<f32>>) {
        (
            self.planner.plan_fft_forward(n),
            self.planner.plan_fft_inverse(n),
        )
    }

    /// Forms image `v` over `u ∈ [u_lo, u_hi]` (Å, the span the reconstruction reads) and rows
    /// `v0 + j·pixel`, `j < ny`, and returns it ramp-filtered.
    #[allow(clippy::too_many_arguments)]
    pub fn image(
        &mut self,
        objects: &[Object],
        v: &ViewSpec,
        acq: &Microscope,
        n_views: usize,
        pixel: f32,
        (u_lo, u_hi): (f32, f32),
        (v0, ny): (f32, usize),
        ss: usize,
    ) -> Filtered {
        let ctf = acq.defocus_um.is_some();
        let mv = if ctf { MARGIN_V } else { 0 };
        let nu_core = ((u_hi - u_lo) / pixel).ceil().max(0.0) as usize + 2;
        let nu = nu_core + 2 * MARGIN_U;
        let nv = ny + 2 * mv;
        let w = Window {
            u0: u_lo - MARGIN_U as f32 * pixel,
            v0: v0 - mv as f32 * pixel,
            nu,
            nv,
            pixel,
        };
        self.img.clear();
        self.img.resize(nu * nv, 0.0);

        let mut rng = Rng::new(v.seed, v.stream);
        let inv_snr = 1.0 / acq.snr_scale; // 0 for a noise-free run
        let base_sigma = inv_snr / v.dose_px.max(1e-6).sqrt();
        let nuf = fast_len(nu + 2 * TAPER);
        let mut filt = ramp(nuf, acq, n_views);
        let data = if ctf {
            render(objects, &v.geom, &w, ss, Part::Phase, &mut self.img);
            self.noise.clear();
            self.noise
                .extend((0..nu * nv).map(|_| self.table.sample(&mut rng) * base_sigma));
            // Amplitude contrast is not modulated by the CTF: it joins the noise image, which
            // goes through the transform unmodulated.
            let mut amp = std::mem::take(&mut self.amp);
            amp.clear();
            amp.resize(nu * nv, 0.0);
            render(objects, &v.geom, &w, ss, Part::Amplitude, &mut amp);
            for (n, a) in self.noise.iter_mut().zip(&amp) {
                *n -= a;
            }
            self.amp = amp;
            self.ctf_filter(&w, nuf, acq, &filt)
        } else {
            render(objects, &v.geom, &w, ss, Part::All, &mut self.img);
            // exp(−c) with signal-dependent (Poisson-like) noise.
            for p in &mut self.img {
                let i = (-*p).exp();
                *p = i + self.table.sample(&mut rng) * base_sigma * i.sqrt();
            }
            self.rows_filter(&w, nuf, &mut filt)
        };
        Filtered {
            u0: w.u0,
            nu,
            data: data[mv * nu..(mv + ny) * nu].to_vec(),
        }
    }

    /// Subtracts the mean and fades the outer `TAPER` pixels (and rows, when `rows`) to zero.
    fn taper(img: &mut [f32], nu: usize, nv: usize, rows: bool) {
        let mean = (img.iter().map(|&v| v as f64).sum::<f64>() / img.len().max(1) as f64) as f32;
        let weights = |n: usize| -> Vec<f32> {
            let t = TAPER.min(n / 2);
            (0..n)
                .map(|i| {
                    let d = i.min(n - 1 - i);
                    if d >= t {
                        1.0
                    } else {
                        0.5 - 0.5 * (std::f32::consts::PI * (d as f32 + 0.5) / t as f32).cos()
                    }
                })
                .collect()
        };
        let wu = weights(nu);
        let wv = if rows { weights(nv) } else { vec![1.0; nv] };
        for (row, &wr) in img.chunks_mut(nu).zip(&wv) {
            for (v, &w) in row.iter_mut().zip(&wu) {
                *v = (*v - mean) * wr * w;
            }
        }
    }

    /// Row-wise ramp filter, two real rows per complex transform.
    fn rows_filter(&mut self, w: &Window, nuf: usize, filt: &mut [f32]) -> Vec<f32> {
        let (nu, nv) = (w.nu, w.nv);
        Self::taper(&mut self.img, nu, nv, false);
        let (fwd, inv) = self.plans(nuf);
        let pairs = nv.div_ceil(2);
        self.buf.clear();
        self.buf.resize(pairs * nuf, Complex32::new(0.0, 0.0));
        for (k, chunk) in self.buf.chunks_mut(nuf).enumerate() {
            let a = &self.img[2 * k * nu..(2 * k + 1) * nu];
            for (c, &x) in chunk.iter_mut().zip(a) {
                c.re = x;
            }
            if 2 * k + 1 < nv {
                let b = &self.img[(2 * k + 1) * nu..(2 * k + 2) * nu];
                for (c, &x) in chunk.iter_mut().zip(b) {
                    c.im = x;
                }
            }
        }
        fwd.process(&mut self.buf);
        // A real, even filter keeps the two packed rows apart.
        for chunk in self.buf.chunks_mut(nuf) {
            for (c, &f) in chunk.iter_mut().zip(filt.iter()) {
                *c *= f;
            }
        }
        inv.process(&mut self.buf);
        let scale = 1.0 / nuf as f32;
        let mut out = vec![0.0f32; nu * nv];
        for (k, chunk) in self.buf.chunks(nuf).enumerate() {
            for (p, c) in chunk.iter().take(nu).enumerate() {
                out[2 * k * nu + p] = c.re * scale;
                if 2 * k + 1 < nv {
                    out[(2 * k + 1) * nu + p] = c.im * scale;
                }
            }
        }
        out
    }

    /// CTF, noise, phase flip and ramp in one 2D transform of `c + i·noise`.
    fn ctf_filter(&mut self, w: &Window, nuf: usize, acq: &Microscope, ramp_f: &[f32]) -> Vec<f32> {
        let (nu, nv) = (w.nu, w.nv);
        Self::taper(&mut self.img, nu, nv, true);
        Self::taper(&mut self.noise, nu, nv, true);
        let nvf = fast_len(nv + 2 * TAPER.min(nv / 2));
        let (fu, iu) = self.plans(nuf);
        let (fv, iv) = self.plans(nvf);
        self.buf.clear();
        self.buf.resize(nvf * nuf, Complex32::new(0.0, 0.0));
        for r in 0..nv {
            let row = &mut self.buf[r * nuf..r * nuf + nu];
            for (p, c) in row.iter_mut().enumerate() {
                *c = Complex32::new(self.img[r * nu + p], self.noise[r * nu + p]);
            }
        }
        fu.process(&mut self.buf);
        transpose(&self.buf, nvf, nuf, &mut self.tbuf); // now nuf rows of nvf
        fv.process(&mut self.tbuf);

        let dz = -acq.defocus_um.unwrap_or(0.0) * 1e4; // underfocus positive, Å
        let b = acq.bfactor_a2;
        let freq = |i: usize, n: usize| -> f32 {
            let s = if i <= n / 2 {
                i as f32
            } else {
                i as f32 - n as f32
            };
            s / n as f32
        };
        let mut out_t = vec![Complex32::new(0.0, 0.0); nuf * nvf];
        for ku in 0..nuf {
            let fu_ = freq(ku, nuf) / w.pixel;
            for kv in 0..nvf {
                let fv_ = freq(kv, nvf) / w.pixel;
                let k2 = fu_ * fu_ + fv_ * fv_;
                let chi = std::f32::consts::PI * LAMBDA_A * dz * k2
                    - 0.5 * std::f32::consts::PI * CS_A * LAMBDA_A.powi(3) * k2 * k2;
                let t = -((1.0 - AMP_CONTRAST * AMP_CONTRAST).sqrt() * chi.sin()
                    + AMP_CONTRAST * chi.cos())
                    * (-b * k2 / 4.0).exp();
                let z = self.tbuf[ku * nvf + kv];
                let zm = self.tbuf[((nuf - ku) % nuf) * nvf + (nvf - kv) % nvf].conj();
                let c = (z + zm) * 0.5;
                let n = (z - zm) * Complex32::new(0.0, -0.5);
                let flip = if acq.phase_flip && t > 0.0 { -1.0 } else { 1.0 };
                out_t[ku * nvf + kv] = (c * t + n) * (flip * ramp_f[ku]);
            }
        }
        iv.process(&mut out_t);
        transpose(&out_t, nuf, nvf, &mut self.buf);
        iu.process(&mut self.buf);
        let scale = 1.0 / (nuf * nvf) as f32;
        let mut out = vec![0.0f32; nu * nv];
        for r in 0..nv {
            for p in 0..nu {
                out[r * nu + p] = self.buf[r * nuf + p].re * scale;
            }
        }
        out
    }
}

fn transpose(src: &[Complex32], rows: usize, cols: usize, dst: &mut Vec<Complex32>) {
    dst.clear();
    dst.resize(rows * cols, Complex32::new(0.0, 0.0));
    const B: usize = 32;
    for r0 in (0..rows).step_by(B) {
        for c0 in (0..cols).step_by(B) {
            for r in r0..(r0 + B).min(rows) {
                for c in c0..(c0 + B).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}

/// The WBP filter for transforms of length `n`: the discrete ramp (DFT of the Ram–Lak kernel
/// h₀ = ¼, h_odd = −1/(π²k²), exact |f| in the band without a DC bias), times the radial taper
/// (1 up to the cutoff, Gaussian fall-off beyond), times π / (number of views).
pub fn ramp(n: usize, acq: &Microscope, n_views: usize) -> Vec<f32> {
    // The kernel's DFT in closed-form sums would need the kernel anyway: transform it (f64).
    let mut planner = FftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut h = vec![rustfft::num_complex::Complex64::new(0.0, 0.0); n];
    h[0].re = 0.25;
    for k in 1..=n / 2 {
        if k % 2 == 1 {
            let v = -1.0 / (std::f64::consts::PI * k as f64).powi(2);
            h[k].re = v;
            if n - k != k {
                h[n - k].re = v;
            }
        }
    }
    fft.process(&mut h);
    let scale = std::f64::consts::PI / n_views.max(1) as f64;
    let (fc, fs) = (acq.radial_cutoff as f64, acq.radial_falloff as f64);
    h.iter()
        .enumerate()
        .map(|(i, c)| {
            let f = (if i <= n / 2 { i } else { n - i }) as f64 / n as f64;
            let taper = if f <= fc {
                1.0
            } else {
                (-(f - fc).powi(2) / (2.0 * fs * fs)).exp()
            };
            (c.re * taper * scale) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The discrete ramp is |f| (to within the kernel's truncation) below the cutoff.
    #[test]
    fn ramp_is_abs_frequency() {
        let acq = Microscope::default();
        let n = 256;
        let r = ramp(n, &acq, 1);
        let pi = std::f32::consts::PI;
        // The truncated kernel leaves a tiny positive DC (below the first bin's |f|); the mean is
        // subtracted before filtering anyway.
        assert!(
            r[0] >= 0.0 && r[0] / pi < 1.0 / n as f32,
            "DC {}",
            r[0] / pi
        );
        for i in [8usize, 32, 64] {
            let f = i as f32 / n as f32;
            assert!((r[i] / pi - f).abs() < 3e-3, "{i}: {}", r[i] / pi);
            assert_eq!(r[i], r[n - i]);
        }
        // Strongly damped at Nyquist (0.15 cycles/pixel beyond a 0.35 cutoff, σ = 0.035).
        assert!(r[n / 2] / pi < 1e-3);
    }
}
