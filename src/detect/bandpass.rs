//! Per-slice band-pass around the bead frequency f0 = 1/D with raised-cosine edges.
//!
//! Design: the whole slice, mean removed, is zero-padded to power-of-two sides `n × m` and
//! filtered with one 2D FFT. Two slices are filtered at once, packed as the real and imaginary
//! parts of one complex image: the gain is real and even in frequency, so the real and
//! imaginary parts of the result are exactly the two filtered slices. Only the columns of the
//! row spectra whose frequency can reach the pass band (|fx| ≤ fH + w) are kept, which saves
//! most of the column transforms and memory. The 1D transform is pluggable ([`Fft`]): the
//! no_std build uses `microfft` ([`MicroFft`], up to 4096 points), the std driver uses
//! `rustfft`. The inverse transform is conj(FFT(conj(x))) with one 1/(n·m) scale at the end,
//! so both engines run the same arithmetic apart from the butterflies.
use super::{Complex32, KernelError};

/// Default raised-cosine width in cycles/px (the value the original used until 2022).
pub const DEFAULT_WIDTH: f32 = 0.02;

/// Rows transformed per block: the kept columns are moved to and from the column-major
/// spectrum this many rows at a time.
const ROW_BLOCK: usize = 8;

/// The largest padded side [`MicroFft`] can transform.
pub const MICROFFT_MAX_LEN: usize = 4096;

/// An in-place, unnormalised forward complex FFT of a power-of-two length.
pub trait Fft {
    /// Transforms `data` in place; `Err(FftTooLarge)` if the length is not supported.
    fn forward(&mut self, data: &mut [Complex32]) -> Result<(), KernelError>;
}

/// `microfft` behind the [`Fft`] trait (no_std, no heap; lengths 2 … 4096).
#[derive(Clone, Copy, Debug, Default)]
pub struct MicroFft;

macro_rules! micro_dispatch {
    ($data:expr, $($n:literal => $f:ident),*) => {
        match $data.len() {
            1 => Ok(()),
            $($n => {
                let a: &mut [Complex32; $n] =
                    $data.try_into().map_err(|_| KernelError::BufferSize)?;
                let _ = microfft::complex::$f(a);
                Ok(())
            })*
            _ => Err(KernelError::FftTooLarge),
        }
    };
}

impl Fft for MicroFft {
    fn forward(&mut self, data: &mut [Complex32]) -> Result<(), KernelError> {
        micro_dispatch!(data, 2 => cfft_2, 4 => cfft_4, 8 => cfft_8, 16 => cfft_16,
            32 => cfft_32, 64 => cfft_64, 128 => cfft_128, 256 => cfft_256, 512 => cfft_512,
            1024 => cfft_1024, 2048 => cfft_2048, 4096 => cfft_4096)
    }
}

/// Mean of `s`, with 32 independent f32 lanes (the adds vectorise; a serial f64 sum over a
/// megapixel slice is a long dependency chain) reduced in f64. Only used to remove the DC
/// before zero padding, so f32 lanes are plenty.
fn mean(s: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 32];
    let chunks = s.chunks_exact(32);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l += v;
        }
    }
    let total: f64 = lanes.iter().chain(rest).map(|&v| v as f64).sum();
    (total / s.len().max(1) as f64) as f32
}

/// Raised-cosine band-pass gain at radial frequency `u` (cycles/px): 1 on [fl, fh], a
/// half-cosine fall-off of width `w` on each side, 0 beyond (also exactly at fl − w, fh + w).
#[inline]
pub fn gain(u: f32, fl: f32, fh: f32, w: f32) -> f32 {
    if u >= fl && u <= fh {
        1.0
    } else if u < fl && u > fl - w {
        0.5 * (1.0 + libm::cosf(core::f32::consts::PI * (u - fl) / w))
    } else if u > fh && u < fh + w {
        0.5 * (1.0 + libm::cosf(core::f32::consts::PI * (u - fh) / w))
    } else {
        0.0
    }
}

/// A band-pass set up for one slice size and bead diameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandPass {
    /// Slice width and height.
    pub nx: usize,
    pub ny: usize,
    /// FFT sides (≥ nx, ny): powers of two from [`BandPass::new`], any sides the engine
    /// handles from [`BandPass::with_sides`].
    pub n: usize,
    pub m: usize,
    /// Flat pass band edges f0/1.1 and f0/0.9 (cycles/px) and the fall-off width.
    pub fl: f32,
    pub fh: f32,
    pub w: f32,
    /// Kept spectrum columns are 0..=jmax and n−jmax..n.
    jmax: usize,
}

impl BandPass {
    /// Plans the filter for `nx × ny` slices and beads `diameter_px` wide, width `w`, on
    /// power-of-two FFT sides (what [`MicroFft`] needs).
    pub fn new(nx: usize, ny: usize, diameter_px: f64, w: f32) -> Result<Self, KernelError> {
        let n = nx
            .checked_next_power_of_two()
            .ok_or(KernelError::BadParameter)?;
        let m = ny
            .checked_next_power_of_two()
            .ok_or(KernelError::BadParameter)?;
        Self::with_sides(nx, ny, n, m, diameter_px, w)
    }

    /// Like [`BandPass::new`] with explicit FFT sides `n ≥ nx`, `m ≥ ny` (for an engine that
    /// transforms any length: `n = nx` filters the slice periodically, as the original's
    /// whole-volume FFT does, and saves the padding).
    pub fn with_sides(
        nx: usize,
        ny: usize,
        n: usize,
        m: usize,
        diameter_px: f64,
        w: f32,
    ) -> Result<Self, KernelError> {
        if nx == 0 || ny == 0 || n < nx || m < ny || !(diameter_px.is_finite() && diameter_px > 0.0)
        {
            return Err(KernelError::BadParameter);
        }
        if !(w.is_finite() && w >= 0.0) {
            return Err(KernelError::BadParameter);
        }
        let f0 = 1.0 / diameter_px;
        let fl = (f0 / 1.1) as f32;
        let fh = (f0 / 0.9) as f32;
        let reach = libm::floor((fh + w) as f64 * n as f64) as usize;
        let jmax = reach.min(n / 2);
        Ok(BandPass {
            nx,
            ny,
            n,
            m,
            fl,
            fh,
            w,
            jmax,
        })
    }

    /// Number of spectrum columns kept.
    pub fn kept_columns(&self) -> usize {
        if 2 * self.jmax + 1 >= self.n {
            self.n
        } else {
            2 * self.jmax + 1
        }
    }

    /// Complex scratch values [`BandPass::apply_pair`] needs.
    pub fn scratch_len(&self) -> usize {
        self.kept_columns() * self.m + ROW_BLOCK * self.n.max(self.m)
    }

    /// The kept columns of a padded row as two contiguous runs: `0..lo_end` and
    /// `hi_start..n` (empty when every column is kept and the first run covers the row).
    #[inline]
    fn runs(&self) -> (usize, usize) {
        let kept = self.kept_columns();
        if kept == self.n {
            (self.n, self.n)
        } else {
            (self.jmax + 1, self.n - self.jmax)
        }
    }

    /// Digital frequency of padded index `i` on an axis of length `len`.
    #[inline]
    fn freq(i: usize, len: usize) -> f32 {
        if i <= len / 2 {
            i as f32 / len as f32
        } else {
            (i as f32 - len as f32) / len as f32
        }
    }

    /// Band-passes `a` and, if given, `b` (both `nx * ny`, row-major) in place.
    ///
    /// Each slice's own mean is removed before padding; the filter removes DC whenever
    /// fl > w, which holds for every bead larger than a few pixels.
    pub fn apply_pair<F: Fft>(
        &self,
        a: &mut [f32],
        mut b: Option<&mut [f32]>,
        scratch: &mut [Complex32],
        fft: &mut F,
    ) -> Result<(), KernelError> {
        let (nx, ny, n, m) = (self.nx, self.ny, self.n, self.m);
        if a.len() != nx * ny || scratch.len() < self.scratch_len() {
            return Err(KernelError::BufferSize);
        }
        if b.as_ref().is_some_and(|b| b.len() != nx * ny) {
            return Err(KernelError::BufferSize);
        }
        let kept = self.kept_columns();
        let (lo_end, hi_start) = self.runs();
        let (spec, rest) = scratch.split_at_mut(kept * m);
        let rows = &mut rest[..ROW_BLOCK * n];
        let ma = mean(a);
        let mb = b.as_deref().map_or(0.0, mean);
        // Rows, ROW_BLOCK at a time: pack, forward transform, and store the kept columns
        // column-major in `spec` (ROW_BLOCK consecutive values per column: whole cache lines
        // rather than one scattered value per row).
        for y0 in (0..m).step_by(ROW_BLOCK) {
            let block = ROW_BLOCK.min(m - y0);
            for (r, row) in rows.chunks_exact_mut(n).take(block).enumerate() {
                let y = y0 + r;
                if y >= ny {
                    row.fill(Complex32::new(0.0, 0.0));
                    continue;
                }
                let ra = &a[y * nx..(y + 1) * nx];
                match b.as_deref() {
                    Some(b) => {
                        let rb = &b[y * nx..(y + 1) * nx];
                        for ((v, &x), &z) in row.iter_mut().zip(ra).zip(rb) {
                            *v = Complex32::new(x - ma, z - mb);
                        }
                    }
                    None => {
                        for (v, &x) in row.iter_mut().zip(ra) {
                            *v = Complex32::new(x - ma, 0.0);
                        }
                    }
                }
                row[nx..].fill(Complex32::new(0.0, 0.0));
                fft.forward(row)?;
            }
            for (k, j) in (0..lo_end).chain(hi_start..n).enumerate() {
                let col = &mut spec[k * m + y0..k * m + y0 + block];
                for (r, v) in col.iter_mut().enumerate() {
                    *v = rows[r * n + j];
                }
            }
        }
        // Columns: forward, gain, inverse (as conj ∘ FFT ∘ conj). The gain is non-zero only
        // on a ring; rows of the column outside it are set to zero without evaluating it.
        let reach = self.fh + self.w;
        let inner = (self.fl - self.w).max(0.0);
        for (k, j) in (0..lo_end).chain(hi_start..n).enumerate() {
            let fx = Self::freq(j, n);
            let col = &mut spec[k * m..(k + 1) * m];
            fft.forward(col)?;
            // |fy| range where the gain can be non-zero, as padded row indices (rounded
            // outwards; `gain` decides exactly inside).
            let fy_max = libm::sqrtf((reach * reach - fx * fx).max(0.0));
            let fy_min = libm::sqrtf((inner * inner - fx * fx).max(0.0));
            let i_min = (libm::floorf(fy_min * m as f32) as usize).saturating_sub(1);
            let i_max = ((libm::ceilf(fy_max * m as f32) as usize) + 1).min(m / 2);
            for (i, v) in col.iter_mut().enumerate() {
                let d = if i <= m / 2 { i } else { m - i };
                if d < i_min || d > i_max {
                    *v = Complex32::new(0.0, 0.0);
                    continue;
                }
                let fy = Self::freq(i, m);
                let g = gain(libm::sqrtf(fx * fx + fy * fy), self.fl, self.fh, self.w);
                *v = Complex32::new(v.re * g, -(v.im * g));
            }
            fft.forward(col)?;
        }
        // Rows back, ROW_BLOCK at a time: scatter the kept columns, inverse, unpack the real
        // and imaginary parts.
        let scale = 1.0 / (n as f32 * m as f32);
        for y0 in (0..ny).step_by(ROW_BLOCK) {
            let block = ROW_BLOCK.min(ny - y0);
            for (k, j) in (0..lo_end).chain(hi_start..n).enumerate() {
                // `spec` holds conj of the column-inverse; conj again before the row pass
                // cancels, so the row pass gets conj(x) as the inverse trick needs.
                let col = &spec[k * m + y0..k * m + y0 + block];
                for (r, &v) in col.iter().enumerate() {
                    rows[r * n + j] = v;
                }
            }
            for (r, row) in rows.chunks_exact_mut(n).take(block).enumerate() {
                row[lo_end..hi_start].fill(Complex32::new(0.0, 0.0));
                fft.forward(row)?;
                let y = y0 + r;
                for (o, v) in a[y * nx..(y + 1) * nx].iter_mut().zip(row.iter()) {
                    *o = v.re * scale;
                }
                if let Some(b) = b.as_deref_mut() {
                    // The inverse is conj(FFT(conj x)); the imaginary part flips sign.
                    for (o, v) in b[y * nx..(y + 1) * nx].iter_mut().zip(row.iter()) {
                        *o = -v.im * scale;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gain_shape() {
        let (fl, fh, w) = (0.1f32, 0.12f32, 0.02f32);
        assert_eq!(gain(0.11, fl, fh, w), 1.0);
        assert_eq!(gain(0.0, fl, fh, w), 0.0);
        assert_eq!(gain(fl - w, fl, fh, w), 0.0);
        assert_eq!(gain(fh + w, fl, fh, w), 0.0);
        assert!((gain(fl - w / 2.0, fl, fh, w) - 0.5).abs() < 1e-5);
        assert!((gain(fh + w / 2.0, fl, fh, w) - 0.5).abs() < 1e-5);
        // w = 0 is a brick wall, not a NaN.
        assert_eq!(gain(0.05, fl, fh, 0.0), 0.0);
        assert_eq!(gain(0.11, fl, fh, 0.0), 1.0);
    }

    #[test]
    fn plane_wave_in_band_passes_out_of_band_is_removed() {
        // D = 8 px → f0 = 0.125; a wave at 0.125 cycles/px along x passes unchanged, one at
        // 0.375 is removed; the two slices are packed in one transform.
        let (nx, ny) = (32usize, 16usize);
        let bp = BandPass::new(nx, ny, 8.0, 0.02).unwrap();
        let mut a = [0.0f32; 512];
        let mut b = [0.0f32; 512];
        for y in 0..ny {
            for x in 0..nx {
                let ph = 2.0 * core::f32::consts::PI * x as f32;
                a[y * nx + x] = libm::cosf(ph * 0.125) + 3.0;
                b[y * nx + x] = libm::cosf(ph * 0.375);
            }
        }
        let want: [f32; 512] = core::array::from_fn(|i| {
            libm::cosf(2.0 * core::f32::consts::PI * (i % nx) as f32 * 0.125)
        });
        let mut scratch = [Complex32::new(0.0, 0.0); 2048];
        assert!(bp.scratch_len() <= scratch.len());
        bp.apply_pair(&mut a, Some(&mut b), &mut scratch, &mut MicroFft)
            .unwrap();
        for i in 0..512 {
            assert!((a[i] - want[i]).abs() < 1e-4, "a[{i}] = {}", a[i]);
            assert!(b[i].abs() < 1e-4, "b[{i}] = {}", b[i]);
        }
    }
}
