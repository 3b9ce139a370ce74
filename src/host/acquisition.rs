//! The two physical quantities every stage needs — the tomogram's voxel size and the gold bead
//! diameter — held once, and the one rule for thread counts.
//!
//! The detector, the extractor and the pipeline all take an [`Acquisition`]; none of them keeps a
//! second copy of the sampling or the bead size that could disagree with it.
use std::path::Path;

use crate::host::{Error, Result};

/// How the tomogram was sampled and what gold it holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Acquisition {
    /// Tomogram voxel size in Å/voxel (isotropic).
    pub sampling_a: f64,
    /// Gold bead diameter in Å.
    pub bead_diameter_a: f64,
}

impl Default for Acquisition {
    /// 1 Å/voxel (the Xmipp detector's default sampling) and 10 nm gold.
    fn default() -> Self {
        Acquisition {
            sampling_a: 1.0,
            bead_diameter_a: 100.0,
        }
    }
}

/// Accepted voxel sizes and bead diameters, in Å.
pub const PHYSICAL_RANGE_A: (f64, f64) = (1e-3, 1e6);

impl Acquisition {
    /// Both quantities, checked to be positive finite numbers.
    pub fn new(sampling_a: f64, bead_diameter_a: f64) -> Result<Self> {
        let a = Acquisition {
            sampling_a,
            bead_diameter_a,
        };
        a.validate()?;
        Ok(a)
    }

    /// Errors (naming the quantity) unless both values are within [`PHYSICAL_RANGE_A`]: far
    /// wider than any microscope, narrow enough that every derived size (cube sampling, box
    /// edges, in f32) stays a finite positive number. 1e300 Å/voxel passed as "positive and
    /// finite" and gave an infinite cube sampling (found by the `analyze` fuzz target).
    pub fn validate(&self) -> Result<()> {
        let (lo, hi) = PHYSICAL_RANGE_A;
        if !(lo..=hi).contains(&self.sampling_a) {
            return Err(Error::Invalid(format!(
                "sampling must be {lo} … {hi} Å/voxel, got {}",
                self.sampling_a
            )));
        }
        if !(lo..=hi).contains(&self.bead_diameter_a) {
            return Err(Error::Invalid(format!(
                "fiducial size must be {lo} … {hi} Å, got {}",
                self.bead_diameter_a
            )));
        }
        Ok(())
    }

    /// The bead diameter in tomogram voxels.
    pub fn bead_diameter_px(&self) -> f64 {
        self.bead_diameter_a / self.sampling_a
    }
}

/// What the user said about a tomogram's acquisition before its file is opened: the bead
/// diameter, and the voxel size unless the MRC header's is to be used.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AcquisitionInput {
    /// Voxel size in Å/voxel; `None` reads it from the MRC header.
    pub sampling_a: Option<f64>,
    /// Gold bead diameter in Å (default 100 Å = 10 nm gold).
    pub bead_diameter_a: f64,
}

impl Default for AcquisitionInput {
    fn default() -> Self {
        AcquisitionInput {
            sampling_a: None,
            bead_diameter_a: Acquisition::default().bead_diameter_a,
        }
    }
}

impl AcquisitionInput {
    /// The acquisition of the tomogram at `path` whose header gives `header_voxel` (Å, x y z).
    pub fn resolve(&self, header_voxel: [f32; 3], path: &Path) -> Result<Acquisition> {
        let sampling_a = resolve_sampling(self.sampling_a, header_voxel, path)?;
        Acquisition::new(sampling_a, self.bead_diameter_a)
    }
}

/// The voxel size to use: the user's when given, else the MRC header's, whose three axes must
/// then agree (a 2D-style header with Z = 0 is accepted). `path` names the file in errors.
pub fn resolve_sampling(user: Option<f64>, header: [f32; 3], path: &Path) -> Result<f64> {
    if let Some(s) = user {
        if s.is_finite() && s > 0.0 {
            return Ok(s);
        }
        return Err(Error::Invalid(format!(
            "--sampling must be a positive number of Å/voxel, got {s}"
        )));
    }
    let [x, y, z] = header;
    if !(x.is_finite() && x > 0.0) {
        return Err(Error::Invalid(format!(
            "{} has no voxel size in its header (CELLA/MX); give --sampling in Å/voxel",
            path.display()
        )));
    }
    if (y - x).abs() > 1e-3 * x || (z > 0.0 && (z - x).abs() > 1e-3 * x) {
        return Err(Error::Invalid(format!(
            "{} has anisotropic voxels {x}×{y}×{z} Å; give --sampling explicitly",
            path.display()
        )));
    }
    Ok(x as f64)
}

/// The one thread-count rule of the library, the C ABI and the CLI: `0` means every core the
/// operating system offers us; any other number is taken as given up to
/// max(cores, [`THREADS_FLOOR`]). The work is CPU-bound and every worker holds its own buffers
/// (two slices of the tomogram in the detector), so threads beyond the cores only cost memory:
/// `-j 100000` must not allocate 100000 slice buffers.
pub fn resolve_threads(threads: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match threads {
        0 => cores,
        n => n.min(cores.max(THREADS_FLOOR)),
    }
}

/// Thread counts up to this are honoured even on smaller machines (tests and benchmarks of the
/// work split stay meaningful on a 2-core machine).
pub const THREADS_FLOOR: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_comes_from_user_then_header() {
        let p = Path::new("t.mrc");
        assert_eq!(resolve_sampling(Some(7.0), [0.0; 3], p).unwrap(), 7.0);
        assert_eq!(resolve_sampling(None, [10.0, 10.0, 10.0], p).unwrap(), 10.0);
        assert_eq!(resolve_sampling(None, [10.0, 10.0, 0.0], p).unwrap(), 10.0);
        assert!(resolve_sampling(None, [0.0; 3], p).is_err());
        assert!(resolve_sampling(None, [10.0, 12.0, 10.0], p).is_err());
        assert!(resolve_sampling(Some(f64::NAN), [10.0; 3], p).is_err());
        let e = resolve_sampling(None, [10.0, 10.0, 14.0], p).unwrap_err();
        assert!(e.to_string().contains("t.mrc"), "{e}");
    }

    #[test]
    fn acquisition_refuses_non_physical_values() {
        assert!(Acquisition::new(10.0, 100.0).is_ok());
        assert!(Acquisition::new(0.0, 100.0).is_err());
        assert!(Acquisition::new(10.0, f64::INFINITY).is_err());
        assert!(Acquisition::new(-1.0, 100.0).is_err());
        // Finite but unphysical: derived f32 sizes would overflow or vanish.
        assert!(Acquisition::new(1e300, 100.0).is_err());
        assert!(Acquisition::new(10.0, 1e-300).is_err());
        assert_eq!(
            Acquisition::new(8.0, 100.0).unwrap().bead_diameter_px(),
            12.5
        );
    }

    #[test]
    fn input_resolves_against_the_header() {
        let p = Path::new("t.mrc");
        let user = AcquisitionInput {
            sampling_a: None,
            bead_diameter_a: 50.0,
        };
        let a = user.resolve([5.0; 3], p).unwrap();
        assert_eq!((a.sampling_a, a.bead_diameter_a), (5.0, 50.0));
        let forced = AcquisitionInput {
            sampling_a: Some(8.0),
            ..user
        };
        assert_eq!(forced.resolve([5.0, 6.0, 7.0], p).unwrap().sampling_a, 8.0);
        let bad = AcquisitionInput {
            bead_diameter_a: -5.0,
            ..user
        };
        assert!(bad.resolve([5.0; 3], p).is_err());
    }

    #[test]
    fn zero_threads_is_every_core_and_huge_counts_are_clamped() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(resolve_threads(0), cores);
        assert_eq!(resolve_threads(3), 3);
        assert_eq!(resolve_threads(100_000), cores.max(THREADS_FLOOR));
    }
}
