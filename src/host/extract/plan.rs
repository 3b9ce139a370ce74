//! Box geometry: the extraction edge `B_e`, where each bead's box sits, and cutting it out of
//! the tomogram slices.
use super::resample::SpectrumMap;
use super::{BoxRule, ExtractParams};
use crate::host::{Error, Result};
use crate::net::topology::EDGE;

/// Largest extraction box accepted (ds = 16). Beyond it a single block would need more than
/// half a gigabyte; such a tomogram should be binned first.
pub const MAX_BOX_EDGE: usize = 512;

/// The extraction box of one run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxGeometry {
    /// `B_e` in tomogram voxels.
    pub edge: usize,
    /// The downsampling factor `ds = s_t / s_tomo` actually used (V1: rounded to 6 decimals).
    pub ds: f64,
    /// Real cube voxel size `s_tomo · B_e / 32` in Å.
    pub cube_sampling_a: f32,
    /// False only for V1's direct 32³ cut (|ds − 1| ≤ 0.01).
    pub resample: bool,
    pub(super) map: SpectrumMap,
    rule: BoxRule,
}

/// Validates the parameters and computes the extraction box (spec §3 steps 1–2, §6).
pub fn box_edge(p: &ExtractParams) -> Result<BoxGeometry> {
    let (d, s) = (p.acquisition.bead_diameter_a, p.acquisition.sampling_a);
    if !(d.is_finite() && d > 0.0) {
        return Err(Error::Invalid(format!(
            "extraction: the bead diameter must be a positive number of Å, got {d}"
        )));
    }
    if !(s.is_finite() && s > 0.0) {
        return Err(Error::Invalid(format!(
            "extraction: the tomogram sampling must be a positive number of Å/voxel, got {s} \
             (is the MRC header's voxel size missing? give it explicitly)"
        )));
    }
    let target = d / 16.0;
    let ds = target / s;
    let (edge, ds, resample, map) = match p.box_rule {
        BoxRule::Even => {
            let half = (16.0 * ds).round();
            let edge = if half.is_finite() && half <= MAX_BOX_EDGE as f64 {
                2 * half as usize
            } else {
                usize::MAX
            };
            (edge, ds, true, SpectrumMap::Symmetric)
        }
        BoxRule::XmippV1 => {
            // The pipeline passes ds with printf's %f: six decimals.
            let ds6 = (ds * 1e6).round() / 1e6;
            if (ds6 - 1.0).abs() <= 0.01 {
                (EDGE, ds6, false, SpectrumMap::XmippV1)
            } else {
                let e = (32.0 * ds6).floor();
                let edge = if e.is_finite() && e <= MAX_BOX_EDGE as f64 {
                    e as usize
                } else {
                    usize::MAX
                };
                (edge, ds6, true, SpectrumMap::XmippV1)
            }
        }
    };
    if !(2..=MAX_BOX_EDGE).contains(&edge) {
        return Err(Error::Invalid(format!(
            "extraction: a {d} Å bead at {s} Å/voxel needs a box of {} voxels \
             (ds = {ds:.4}); supported are 2 … {MAX_BOX_EDGE}: bin or unbin the tomogram",
            if edge == usize::MAX {
                "too many".to_string()
            } else {
                edge.to_string()
            }
        )));
    }
    Ok(BoxGeometry {
        edge,
        ds,
        cube_sampling_a: (s * edge as f64 / EDGE as f64) as f32,
        resample,
        map,
        rule: p.box_rule,
    })
}

/// Where one bead's box sits in the tomogram.
#[derive(Clone, Debug)]
pub(super) struct BeadPlan {
    pub input_index: usize,
    pub position: [f64; 3],
    /// First voxel of the copied region on each axis (may be negative when padding).
    start: [i64; 3],
    /// Voxels copied per axis: `B_e`, or `2·⌊B_e/2⌋` in V1 (an odd V1 box keeps a zero plane).
    copy: usize,
    /// Sub-voxel remainder (block voxels) applied by the resampler.
    pub shift: [f64; 3],
    /// Does the copied region lie wholly inside the volume?
    pub inside: bool,
    nz: usize,
}

impl BeadPlan {
    /// Places the box of coordinate row `index`; errors on a non-finite coordinate or one whose
    /// centre voxel is outside the volume (wrong tomogram or unscaled coordinates).
    pub fn new(index: usize, c: [f64; 3], dims: [usize; 3], g: &BoxGeometry) -> Result<Self> {
        if c.iter().any(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!(
                "extraction: coordinate row {index} is not finite: {c:?}"
            )));
        }
        let (mut start, mut shift) = ([0i64; 3], [0.0f64; 3]);
        let (half, copy) = match g.rule {
            BoxRule::Even => (g.edge / 2, g.edge),
            BoxRule::XmippV1 => (g.edge / 2, 2 * (g.edge / 2)),
        };
        let mut inside = true;
        for a in 0..3 {
            let centre = match g.rule {
                // Ours: nearest voxel, remainder as a phase ramp.
                BoxRule::Even => c[a].round(),
                // Scipion writes int(x): truncation (floor for the non-negative coordinates
                // inside a volume).
                BoxRule::XmippV1 => c[a].floor(),
            };
            if centre < 0.0 || centre >= dims[a] as f64 {
                return Err(Error::Invalid(format!(
                    "extraction: coordinate row {index} {c:?} lies outside the {}×{}×{} volume \
                     (coordinates of another tomogram or binning?)",
                    dims[0], dims[1], dims[2]
                )));
            }
            if g.rule == BoxRule::Even {
                shift[a] = c[a] - centre;
            }
            start[a] = centre as i64 - half as i64;
            inside &= start[a] >= 0 && start[a] + copy as i64 <= dims[a] as i64;
        }
        Ok(BeadPlan {
            input_index: index,
            position: c,
            start,
            copy,
            shift,
            inside,
            nz: dims[2],
        })
    }

    /// The slices `[z0, z1)` this bead needs (clipped to the volume).
    pub fn z_range(&self) -> (usize, usize) {
        let z0 = self.start[2].max(0) as usize;
        let z1 = ((self.start[2] + self.copy as i64).max(0) as usize).min(self.nz);
        (z0, z1.max(z0))
    }

    /// The part of the box inside a `dims` volume as `(origin, size)`, and this plan restated
    /// relative to that block: cutting the block (read on its own) with the returned plan gives
    /// what [`BeadPlan::cut`] gives on whole slices, since outside the block is outside the
    /// volume.
    pub fn in_block(&self, dims: [usize; 3]) -> ([usize; 3], [usize; 3], BeadPlan) {
        let (mut origin, mut size) = ([0usize; 3], [0usize; 3]);
        let mut rel = self.clone();
        for a in 0..3 {
            let lo = self.start[a].max(0);
            let hi = (self.start[a] + self.copy as i64).min(dims[a] as i64);
            origin[a] = lo as usize;
            // The centre voxel is inside (checked by `new`), so the block is never empty.
            size[a] = (hi - lo).max(1) as usize;
            rel.start[a] = self.start[a] - lo;
        }
        rel.nz = size[2];
        (origin, size, rel)
    }

    /// Fills the `edge³` block from the slices given by `slice(z)` (each `nx·ny`, x fastest).
    /// Voxels outside the volume take the mean of those inside; V1's uncopied last plane is 0.
    pub fn cut<'a>(
        &self,
        slice: impl Fn(usize) -> &'a [f32],
        dims: [usize; 3],
        g: &BoxGeometry,
        block: &mut [f32],
    ) {
        let e = g.edge;
        let [nx, ny, _] = dims;
        block.iter_mut().for_each(|v| *v = 0.0);
        let x0 = self.start[0].max(0) as usize;
        let x1 = ((self.start[0] + self.copy as i64).max(0) as usize).min(nx);
        let bx0 = (x0 as i64 - self.start[0]) as usize;
        let (mut sum, mut count) = (0.0f64, 0usize);
        let (z0, z1) = self.z_range();
        for z in z0..z1 {
            let s = slice(z);
            let bz = (z as i64 - self.start[2]) as usize;
            for by in 0..self.copy {
                let y = self.start[1] + by as i64;
                if y < 0 || y >= ny as i64 || x1 <= x0 {
                    continue;
                }
                let row = &s[y as usize * nx + x0..y as usize * nx + x1];
                let dst = (bz * e + by) * e + bx0;
                block[dst..dst + row.len()].copy_from_slice(row);
                sum += row.iter().map(|&v| v as f64).sum::<f64>();
                count += row.len();
            }
        }
        if self.inside {
            return;
        }
        let fill = if count > 0 {
            (sum / count as f64) as f32
        } else {
            0.0
        };
        let outside = |b: usize, a: usize| {
            let v = self.start[a] + b as i64;
            v < 0 || v >= dims[a] as i64
        };
        for bz in 0..self.copy {
            for by in 0..self.copy {
                for bx in 0..self.copy {
                    if outside(bx, 0) || outside(by, 1) || outside(bz, 2) {
                        block[(bz * e + by) * e + bx] = fill;
                    }
                }
            }
        }
    }
}
