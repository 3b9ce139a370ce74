//! What the pipeline may assume about a tomogram's grey values: gold is the darkest material,
//! and values are of a size f32 arithmetic handles. Tomograms that break either assumption —
//! inverted contrast from some pipelines, or values scaled by 1e20 — are seen through a
//! [`Scaled`] view instead of giving wrong answers.
use crate::host::{Result, SliceSource};

/// `inner` with every voxel multiplied by `factor` (−1 inverts the contrast; a power of two
/// rescales exactly, without rounding).
pub struct Scaled<'a> {
    inner: &'a dyn SliceSource,
    factor: f32,
}

impl<'a> Scaled<'a> {
    pub fn new(inner: &'a dyn SliceSource, factor: f32) -> Self {
        Scaled { inner, factor }
    }
}

impl SliceSource for Scaled<'_> {
    fn dims(&self) -> [usize; 3] {
        self.inner.dims()
    }

    fn voxel_size(&self) -> [f32; 3] {
        self.inner.voxel_size()
    }

    fn read_slice(&self, z: usize, out: &mut [f32]) -> Result<()> {
        self.inner.read_slice(z, out)?;
        out.iter_mut().for_each(|v| *v *= self.factor);
        Ok(())
    }

    fn read_block(&self, origin: [usize; 3], size: [usize; 3], out: &mut [f32]) -> Result<()> {
        self.inner.read_block(origin, size, out)?;
        out.iter_mut().for_each(|v| *v *= self.factor);
        Ok(())
    }
}

/// Robust statistics of a sample of the tomogram's voxels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntensitySample {
    pub median: f32,
    /// 1.4826 × the median absolute deviation: the SD for Gaussian noise, blind to the beads.
    pub robust_sd: f32,
    /// Sampled voxels darker than median − [`TAIL_SDS`] robust SDs.
    pub dark_tail: usize,
    /// Sampled voxels brighter than median + [`TAIL_SDS`] robust SDs.
    pub bright_tail: usize,
    /// Voxels sampled (finite ones only).
    pub count: usize,
}

/// How far out (in robust SDs) a voxel counts as part of a tail: noise essentially never
/// reaches it, gold does.
pub const TAIL_SDS: f32 = 6.0;

/// At most this many voxels are sampled (16 MiB of f32), whatever the tomogram's size.
const MAX_SAMPLES: usize = 1 << 22;
/// Slices sampled, evenly spread over the central 80 % of the depth.
const SAMPLE_SLICES: usize = 12;

/// Samples the tomogram (a few slices, subsampled to a bounded count) for [`IntensitySample`].
/// Non-finite voxels are skipped (the detector reports them precisely later).
pub fn sample(src: &dyn SliceSource) -> Result<IntensitySample> {
    let [nx, ny, nz] = src.dims();
    crate::host::volume::voxel_count([nx, ny, nz])?;
    let slices = SAMPLE_SLICES.min(nz).max(1);
    let per_slice = nx * ny;
    let stride = (per_slice * slices).div_ceil(MAX_SAMPLES).max(1);
    let mut buf = crate::host::alloc::zeroed(per_slice, "a tomogram slice")?;
    let mut values = Vec::new();
    values
        .try_reserve((per_slice * slices / stride).min(MAX_SAMPLES) + slices)
        .map_err(|_| crate::host::Error::OutOfMemory("the intensity sample".into()))?;
    for k in 0..slices {
        let z = if slices == 1 {
            nz / 2
        } else {
            let (lo, hi) = (nz as f64 * 0.1, nz as f64 * 0.9 - 1.0);
            (lo + (hi - lo).max(0.0) * k as f64 / (slices - 1) as f64).round() as usize
        };
        src.read_slice(z.min(nz - 1), &mut buf)?;
        // Offset the subsampling per slice so a stride that divides nx does not sample columns.
        values.extend(
            buf.iter()
                .skip(k % stride)
                .step_by(stride)
                .copied()
                .filter(|v| v.is_finite()),
        );
    }
    Ok(robust(&mut values))
}

fn robust(values: &mut [f32]) -> IntensitySample {
    let n = values.len();
    if n == 0 {
        return IntensitySample {
            median: 0.0,
            robust_sd: 0.0,
            dark_tail: 0,
            bright_tail: 0,
            count: 0,
        };
    }
    let median = *values.select_nth_unstable_by(n / 2, f32::total_cmp).1;
    let mut dev: Vec<f32> = values.iter().map(|v| (v - median).abs()).collect();
    let mad = *dev.select_nth_unstable_by(n / 2, f32::total_cmp).1;
    let robust_sd = 1.4826 * mad;
    let cut = TAIL_SDS * robust_sd;
    let (mut dark, mut bright) = (0, 0);
    if robust_sd > 0.0 && robust_sd.is_finite() {
        for &v in values.iter() {
            if v < median - cut {
                dark += 1;
            } else if v > median + cut {
                bright += 1;
            }
        }
    }
    IntensitySample {
        median,
        robust_sd,
        dark_tail: dark,
        bright_tail: bright,
        count: n,
    }
}

/// Which way the gold shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polarity {
    /// Gold dark (the convention of IMOD, AreTomo, Xmipp and the networks).
    Normal,
    /// Gold bright: the contrast is inverted.
    Inverted,
}

impl IntensitySample {
    /// The polarity the tails show: inverted only when the bright tail clearly outweighs the dark
    /// one (by 3×, and at least 32 sampled voxels); anything less is taken as the convention.
    pub fn polarity(&self) -> Polarity {
        if self.bright_tail >= 32 && self.bright_tail > 3 * self.dark_tail {
            Polarity::Inverted
        } else {
            Polarity::Normal
        }
    }

    /// A power of two that brings the robust SD near 1, or 1 when it is already within
    /// 2⁻²⁰ … 2²⁰ (the usual case: the data are then used bit for bit as given). Powers of two
    /// rescale exactly, so results do not depend on the units the tomogram was written in.
    pub fn scale(&self) -> f32 {
        let s = self.robust_sd;
        if !(s.is_finite() && s > 0.0) {
            return 1.0;
        }
        let e = s.log2().round() as i32;
        if (-20..=20).contains(&e) {
            1.0
        } else {
            2f32.powi(-e.clamp(-120, 120))
        }
    }
}

/// How the pipeline views a tomogram: `factor` multiplies every voxel (a power of two, negated
/// when the contrast is inverted).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normalisation {
    pub factor: f32,
    pub polarity: Polarity,
}

impl Normalisation {
    /// The view of `src` this normalisation asks for, or `None` when it is the identity.
    pub fn view<'a>(&self, src: &'a dyn SliceSource) -> Option<Scaled<'a>> {
        (self.factor != 1.0).then(|| Scaled::new(src, self.factor))
    }

    /// The warning a user should read, if any.
    pub fn warning(&self) -> Option<String> {
        (self.polarity == Polarity::Inverted).then(|| {
            "the contrast looks inverted (the darkest material, gold, is bright here); the \
             tomogram was inverted for the analysis — if its beads really are dark, check the \
             bead size and sampling"
                .to_string()
        })
    }
}

/// Decides how to view `src`. With `beads` (positions in voxels, e.g. from the alignment), the
/// grey values at their centres decide the polarity when they clearly differ from the median;
/// otherwise (and without beads) the heavier of the two intensity tails does.
pub fn normalisation(src: &dyn SliceSource, beads: Option<&[[f64; 3]]>) -> Result<Normalisation> {
    let stats = sample(src)?;
    let polarity = match beads.and_then(|b| polarity_at(src, b, &stats).transpose()) {
        Some(p) => p?,
        None => stats.polarity(),
    };
    let sign = match polarity {
        Polarity::Normal => 1.0,
        Polarity::Inverted => -1.0,
    };
    Ok(Normalisation {
        factor: sign * stats.scale(),
        polarity,
    })
}

/// The polarity the bead centres show (median of their 3×3×3 means, compared with the volume's
/// median and robust SD), or `None` when they are within 2 robust SDs of the median.
fn polarity_at(
    src: &dyn SliceSource,
    beads: &[[f64; 3]],
    stats: &IntensitySample,
) -> Result<Option<Polarity>> {
    let dims = src.dims();
    let mut means = Vec::new();
    let mut block = [0.0f32; 27];
    // A few hundred beads decide as well as all of them.
    let step = beads.len().div_ceil(256).max(1);
    for b in beads.iter().step_by(step) {
        let mut origin = [0usize; 3];
        let mut inside = true;
        for a in 0..3 {
            let c = b[a].round();
            inside &= c.is_finite() && c >= 1.0 && c + 1.0 < dims[a] as f64;
            origin[a] = if inside { c as usize - 1 } else { 0 };
        }
        if inside {
            src.read_block(origin, [3, 3, 3], &mut block)?;
            means.push(block.iter().sum::<f32>() / 27.0);
        }
    }
    if means.is_empty() || stats.robust_sd.is_nan() || stats.robust_sd <= 0.0 {
        return Ok(None);
    }
    let n = means.len();
    let centre = *means.select_nth_unstable_by(n / 2, f32::total_cmp).1;
    let z = (centre - stats.median) / stats.robust_sd;
    Ok(if z < -2.0 {
        Some(Polarity::Normal)
    } else if z > 2.0 {
        Some(Polarity::Inverted)
    } else {
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Volume;

    /// Noise with a few very dark (or, inverted, bright) spheres.
    fn beads(sign: f32, scale: f32) -> Volume {
        let dims = [64, 64, 40];
        let mut data = vec![0.0f32; 64 * 64 * 40];
        for (i, v) in data.iter_mut().enumerate() {
            // A multiplicative hash of the index as uniform noise in [-1, 1): spread is all the
            // test needs.
            let h = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            *v = (h as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
        }
        for c in [[16, 16, 20], [48, 20, 16], [30, 46, 24], [50, 50, 20]] {
            for z in 0..40usize {
                for y in 0..64usize {
                    for x in 0..64usize {
                        let d2 = [x, y, z]
                            .iter()
                            .zip(c)
                            .map(|(&a, b)| (a as f32 - b as f32).powi(2))
                            .sum::<f32>();
                        if d2 <= 16.0 {
                            data[x + 64 * (y + 64 * z)] -= sign * 20.0;
                        }
                    }
                }
            }
        }
        data.iter_mut().for_each(|v| *v *= scale);
        Volume::from_data(dims, [10.0; 3], data).unwrap()
    }

    #[test]
    fn dark_gold_is_normal_bright_gold_is_inverted() {
        let s = sample(&beads(1.0, 1.0)).unwrap();
        assert_eq!(s.polarity(), Polarity::Normal, "{s:?}");
        assert!(s.dark_tail > 100 && s.bright_tail == 0, "{s:?}");
        let s = sample(&beads(-1.0, 1.0)).unwrap();
        assert_eq!(s.polarity(), Polarity::Inverted, "{s:?}");
        // Inverting the view restores the convention.
        let v = beads(-1.0, 1.0);
        let s = sample(&Scaled::new(&v, -1.0)).unwrap();
        assert_eq!(s.polarity(), Polarity::Normal, "{s:?}");
        let n = normalisation(&v, None).unwrap();
        assert_eq!((n.factor, n.polarity), (-1.0, Polarity::Inverted));
        assert!(n.warning().is_some());
    }

    #[test]
    fn given_bead_positions_decide_the_polarity() {
        let centres = [[16.0, 16.0, 20.0], [48.0, 20.0, 16.0], [30.0, 46.0, 24.0]];
        for (sign, want) in [(1.0, Polarity::Normal), (-1.0, Polarity::Inverted)] {
            let v = beads(sign, 1.0);
            let n = normalisation(&v, Some(&centres)).unwrap();
            assert_eq!(n.polarity, want);
            assert_eq!(n.warning().is_some(), want == Polarity::Inverted);
        }
        // Positions on plain noise say nothing: the tails decide.
        let v = beads(-1.0, 1.0);
        let n = normalisation(&v, Some(&[[5.0, 40.0, 10.0]])).unwrap();
        assert_eq!(n.polarity, Polarity::Inverted);
    }

    #[test]
    fn no_gold_is_normal() {
        let flat = Volume::from_data([16, 16, 8], [1.0; 3], vec![3.0; 2048]).unwrap();
        let s = sample(&flat).unwrap();
        assert_eq!(s.polarity(), Polarity::Normal);
        assert_eq!(s.scale(), 1.0);
    }

    #[test]
    fn scale_is_one_for_ordinary_data_and_a_power_of_two_otherwise() {
        assert_eq!(sample(&beads(1.0, 1.0)).unwrap().scale(), 1.0);
        assert_eq!(sample(&beads(1.0, 1e4)).unwrap().scale(), 1.0);
        let big = sample(&beads(1.0, 1e20)).unwrap();
        let k = big.scale();
        assert!(k < 1e-15 && k.log2().fract() == 0.0, "{k}");
        let rescaled = big.robust_sd * k;
        assert!((0.5..=2.0).contains(&rescaled), "{rescaled}");
        let tiny = sample(&beads(1.0, 1e-20)).unwrap().scale();
        assert!(tiny > 1e15 && tiny.log2().fract() == 0.0, "{tiny}");
    }
}
