//! The trained networks shipped inside the library, embedded at compile time from
//! `weights/*.mlw` (made by `misalign-train all --out weights/`; see docs/training.md,
//! weights/PROVENANCE.md and weights/REPORT.md).
use super::weights::{WeightError, WeightFile};

/// Bytes of the strong-misalignment network (`weights/strong.mlw`).
pub static STRONG_MLW: &[u8] = include_bytes!("../../weights/strong.mlw");

/// Bytes of the weak-misalignment network (`weights/weak.mlw`).
pub static WEAK_MLW: &[u8] = include_bytes!("../../weights/weak.mlw");

/// The baked strong-misalignment network, ready for [`super::Prepared::load`]. The crate's
/// tests check that it parses, so an error here means a corrupted build.
pub fn strong() -> Result<WeightFile<'static>, WeightError> {
    WeightFile::parse(STRONG_MLW)
}

/// The baked weak-misalignment network (see [`strong`]).
pub fn weak() -> Result<WeightFile<'static>, WeightError> {
    WeightFile::parse(WEAK_MLW)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::topology::PARAM_COUNT;

    #[test]
    fn embedded_weights_are_valid() {
        for w in [strong(), weak()] {
            let w = w.expect("baked weights parse");
            assert_eq!(w.param_count(), PARAM_COUNT);
            assert!(w.epsilon() > 0.0);
            // Trained, not a zero file: some kernel weights are non-zero.
            assert!((0..1000).any(|k| w.value(k).unwrap_or(0.0) != 0.0));
        }
    }
}
