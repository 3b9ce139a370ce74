//! Network-input normalisation of extracted cubes (spec/network.md "Input contract",
//! spec/subtomo-extraction.md §3.5 and §7.2).
//!
//! Statistics are accumulated in f64. A zero deviation (a constant cube) divides by 1 instead,
//! so a flat input becomes all zeros, never NaN.
//!
//! Note: if `crate::net::forward` gains its own per-cube normaliser, [`normalize_per_cube`] should
//! become a thin call to it (one definition of the network's input contract).
use crate::net::topology::{CUBE_LEN, EDGE};

/// Number of voxels of the Xmipp background mask (distance from (16,16,16) greater than 16).
pub const XMIPP_MASK_LEN: usize = 15_694;

/// Is voxel `(x, y, z)` of a 32³ cube in the Xmipp background mask, i.e. strictly farther
/// than 16 voxels from the centre voxel (16, 16, 16)?
#[inline]
pub fn in_xmipp_background(x: usize, y: usize, z: usize) -> bool {
    let c = (EDGE / 2) as i64;
    let (dx, dy, dz) = (x as i64 - c, y as i64 - c, z as i64 - c);
    dx * dx + dy * dy + dz * dz > c * c
}

/// The background mask as a flat `CUBE_LEN` vector (x fastest).
pub fn xmipp_background_mask() -> Vec<bool> {
    let mut m = Vec::with_capacity(CUBE_LEN);
    for z in 0..EDGE {
        for y in 0..EDGE {
            for x in 0..EDGE {
                m.push(in_xmipp_background(x, y, z));
            }
        }
    }
    m
}

/// Mean and population standard deviation of the selected values (two-pass, f64).
fn mean_sd<'a>(values: impl Iterator<Item = &'a f32> + Clone) -> (f64, f64) {
    let (mut n, mut sum) = (0usize, 0.0f64);
    for &v in values.clone() {
        n += 1;
        sum += v as f64;
    }
    if n == 0 {
        return (0.0, 1.0);
    }
    let mean = sum / n as f64;
    let var = values.map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
    (mean, var.sqrt())
}

/// `v ← (v − mean) / sd`, with `sd` replaced by 1 when it is zero or not finite.
fn standardize(values: &mut [f32], mean: f64, sd: f64) {
    let scale = if sd > 0.0 && sd.is_finite() {
        1.0 / sd
    } else {
        1.0
    };
    for v in values {
        *v = ((*v as f64 - mean) * scale) as f32;
    }
}

/// Mean 0 and population standard deviation 1 over the whole cube (the paper's normalisation and
/// the input contract of our own weights). Works on any length; a constant input becomes zeros.
pub fn normalize_per_cube(cube: &mut [f32]) {
    // A network cube goes through the core's normalisation, so extraction and `infer` agree
    // bit for bit; other lengths (tests, pictures) use the same statistics here.
    if let Ok(c) = <&mut [f32; CUBE_LEN]>::try_from(&mut *cube) {
        crate::net::forward::normalize_cube(c);
    } else {
        standardize_together(cube);
    }
}

/// Standardises all `values` together: mean 0, population SD 1 over all of them (the second
/// step of the Xmipp pipeline, and what `xmipp_deep_misalignment_detection` does to its input).
pub fn standardize_together(values: &mut [f32]) {
    let (m, s) = mean_sd(values.iter());
    standardize(values, m, s);
}

/// The original pipeline's two-step normalisation, for imported Xmipp models:
/// 1. per cube, mean and population SD over the background mask (voxels farther than 16 from
///    the centre, [`XMIPP_MASK_LEN`] of them) and `v ← (v − μ)/σ` on the whole cube;
/// 2. then all cubes of the tomogram together: the mean and population SD of every value and the
///    same standardisation.
///
/// `cubes` holds `n · CUBE_LEN` values (x fastest). A trailing partial cube (a length that is not
/// a multiple of `CUBE_LEN`) cannot be masked: it takes part in step 2 only.
pub fn normalize_xmipp(cubes: &mut [f32]) {
    let mask = xmipp_background_mask();
    for cube in cubes.chunks_exact_mut(CUBE_LEN) {
        let bg = cube.iter().zip(&mask).filter(|(_, &m)| m).map(|(v, _)| v);
        let (m, s) = mean_sd(bg);
        standardize(cube, m, s);
    }
    standardize_together(cubes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_input_gives_zeros() {
        let mut c = vec![3.5f32; CUBE_LEN];
        normalize_per_cube(&mut c);
        assert!(c.iter().all(|&v| v == 0.0));
        let mut c = vec![3.5f32; 2 * CUBE_LEN];
        normalize_xmipp(&mut c);
        assert!(c.iter().all(|&v| v == 0.0));
    }
}
