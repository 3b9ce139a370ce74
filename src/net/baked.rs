//! The trained networks shipped inside the library, embedded at compile time from
//! `weights/*.mlw` (made by `misalign-train all --out weights/`, see docs/training.md and
//! weights/PROVENANCE.md).
use super::weights::WeightFile;

/// Bytes of the strong-misalignment network (`weights/strong.mlw`).
pub static STRONG_MLW: &[u8] = include_bytes!("../../weights/strong.mlw");

/// The baked strong-misalignment network, ready for [`super::Prepared::load`].
///
/// # Panics
/// Only if the embedded bytes were corrupt, which the crate's tests rule out for every build
/// (`baked::tests::embedded_weights_are_valid`).
pub fn strong() -> WeightFile<'static> {
    match WeightFile::parse(STRONG_MLW) {
        Ok(w) => w,
        Err(e) => panic!("the baked strong weights are invalid: {e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::topology::PARAM_COUNT;

    #[test]
    fn embedded_weights_are_valid() {
        let w = strong();
        assert_eq!(w.param_count(), PARAM_COUNT);
        assert!(w.epsilon() > 0.0);
        // Trained, not a zero file: some kernel weights are non-zero.
        assert!((0..1000).any(|k| w.value(k).unwrap_or(0.0) != 0.0));
    }
}
