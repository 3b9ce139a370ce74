//! The pair of networks a check uses: the strong and the weak one, built in or from files.
use std::path::Path;

use crate::decide::{self, Criterion, Decision};
use crate::host::infer::{fnv1a64, load_weights_hashed, score_cubes};
use crate::host::{Error, Result};
use crate::net::forward::Prepared;

/// Strong and weak networks, expanded once and shared read-only by every worker thread.
pub struct Networks {
    strong: Box<Prepared>,
    weak: Box<Prepared>,
    descriptions: [String; 2],
    /// FNV-1a 64 of the strong then the weak weight bytes.
    hashes: [u64; 2],
}

impl Networks {
    /// The weights built into this binary (trained on simulated data; see weights/PROVENANCE.md).
    pub fn baked() -> Result<Self> {
        let strong = crate::net::baked::strong()
            .map_err(|e| Error::Weights(format!("built-in strong weights: {e}")))?;
        let weak = crate::net::baked::weak()
            .map_err(|e| Error::Weights(format!("built-in weak weights: {e}")))?;
        Ok(Networks {
            strong: Prepared::boxed(&strong),
            weak: Prepared::boxed(&weak),
            descriptions: [
                format!("built-in strong (misalign {})", crate::VERSION),
                format!("built-in weak (misalign {})", crate::VERSION),
            ],
            hashes: [
                fnv1a64(crate::net::baked::STRONG_MLW),
                fnv1a64(crate::net::baked::WEAK_MLW),
            ],
        })
    }

    /// Weight files on disk (ours, or converted from Keras with tools/keras_to_misalign.py).
    pub fn from_files(strong: &Path, weak: &Path) -> Result<Self> {
        let (s, hs) = load_weights_hashed(strong)?;
        let (w, hw) = load_weights_hashed(weak)?;
        Ok(Networks {
            strong: s,
            weak: w,
            descriptions: [strong.display().to_string(), weak.display().to_string()],
            hashes: [hs, hw],
        })
    }

    /// The strong-misalignment network.
    pub fn strong(&self) -> &Prepared {
        &self.strong
    }

    /// The weak-misalignment network.
    pub fn weak(&self) -> &Prepared {
        &self.weak
    }

    /// The identity of the two networks' weights: FNV-1a 64 of each weight file's bytes, as
    /// `"<strong hex>-<weak hex>"`. Equal fingerprints mean equal weights (resume checks it);
    /// the file names do not matter.
    pub fn fingerprint(&self) -> String {
        format!("{:016x}-{:016x}", self.hashes[0], self.hashes[1])
    }

    /// Where each network came from, for reports.
    pub fn descriptions(&self) -> [String; 2] {
        self.descriptions.clone()
    }
}

/// Both networks' word on one tomogram's cubes.
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    pub decision: Decision,
    /// Strong-network score of every cube, in cube order.
    pub strong: Vec<f32>,
    /// Weak-network scores; `None` when the strong stage failed (the weak network is not run).
    pub weak: Option<Vec<f32>>,
}

impl Networks {
    /// The two-stage decision of [`crate::decide`] on already normalised cubes
    /// (`n · CUBE_LEN` values): the strong network scores every cube; only if the strong stage
    /// passes does the weak network run (as in the paper). `between` runs after the strong
    /// stage (progress reports; an error such as [`Error::Cancelled`] stops there). `threads`:
    /// 0 = every core.
    pub fn classify(
        &self,
        cubes: &[f32],
        criterion: Criterion,
        weak_threshold: Option<f32>,
        threads: usize,
        between: impl FnOnce() -> Result<()>,
    ) -> Result<Classification> {
        let strong = score_cubes(self.strong(), cubes, false, threads)?;
        let passes =
            decide::summarize(&strong).is_some_and(|s| decide::strong_stage_passes(&s, criterion));
        between()?;
        let weak = if passes {
            Some(score_cubes(self.weak(), cubes, false, threads)?)
        } else {
            None
        };
        let decision = decide::decide(&strong, weak.as_deref(), criterion, weak_threshold);
        Ok(Classification {
            decision,
            strong,
            weak,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_the_weight_bytes_not_the_file_names() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights");
        let (s, w) = (dir.join("strong.mlw"), dir.join("weak.mlw"));
        let baked = Networks::baked().unwrap().fingerprint();
        assert_eq!(Networks::from_files(&s, &w).unwrap().fingerprint(), baked);
        assert_ne!(Networks::from_files(&w, &s).unwrap().fingerprint(), baked);
    }
}
