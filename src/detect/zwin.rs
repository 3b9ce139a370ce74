//! The Z moving window: each slice is replaced by the mean of the slices k−2 … k+2.
//!
//! Slices near the ends of the stack use the part of the window that exists (a truncated mean),
//! so every output slice has the same scale. The original summed five slices and left the four
//! end slices raw, which made them about 5× weaker than their neighbours.

/// Half-width of the Z window (the window spans `2 * Z_HALF + 1` slices).
pub const Z_HALF: usize = 2;

/// Slices `[first, last]` (inclusive) that make up the window of slice `k` in a stack of `nz`.
pub fn window(k: usize, nz: usize) -> (usize, usize) {
    let first = k.saturating_sub(Z_HALF);
    let last = (k + Z_HALF).min(nz.saturating_sub(1));
    (first, last)
}

/// Writes the mean of `inputs` (all of `out.len()` values) into `out`.
///
/// Summation runs in a fixed order (the order of `inputs`), so the result does not depend on
/// how the work is split between threads.
pub fn mean_of(inputs: &[&[f32]], out: &mut [f32]) -> Result<(), super::KernelError> {
    if inputs.is_empty() || inputs.iter().any(|s| s.len() != out.len()) {
        return Err(super::KernelError::BufferSize);
    }
    let inv = 1.0 / inputs.len() as f32;
    out.copy_from_slice(inputs[0]);
    for s in &inputs[1..] {
        for (o, v) in out.iter_mut().zip(s.iter()) {
            *o += *v;
        }
    }
    for o in out.iter_mut() {
        *o *= inv;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_truncated_at_the_ends() {
        assert_eq!(window(0, 10), (0, 2));
        assert_eq!(window(1, 10), (0, 3));
        assert_eq!(window(5, 10), (3, 7));
        assert_eq!(window(9, 10), (7, 9));
        assert_eq!(window(0, 1), (0, 0));
    }

    #[test]
    fn mean_of_three() {
        let a = [1.0, 2.0];
        let b = [3.0, 4.0];
        let c = [5.0, 9.0];
        let mut o = [0.0; 2];
        mean_of(&[&a, &b, &c], &mut o).unwrap();
        assert_eq!(o, [3.0, 5.0]);
        assert!(mean_of(&[&a[..1]], &mut o).is_err());
    }
}
