//! The pair of networks a check uses: the strong and the weak one, built in or from files.
use std::path::Path;

use crate::host::infer::load_weights;
use crate::host::{Error, Result};
use crate::net::forward::Prepared;

/// Strong and weak networks, expanded once and shared read-only by every worker thread.
pub struct Networks {
    strong: Box<Prepared>,
    weak: Box<Prepared>,
    descriptions: [String; 2],
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
        })
    }

    /// Weight files on disk (ours, or converted from Keras with tools/keras_to_misalign.py).
    pub fn from_files(strong: &Path, weak: &Path) -> Result<Self> {
        Ok(Networks {
            strong: load_weights(strong)?,
            weak: load_weights(weak)?,
            descriptions: [strong.display().to_string(), weak.display().to_string()],
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

    /// Where each network came from, for reports.
    pub fn descriptions(&self) -> [String; 2] {
        self.descriptions.clone()
    }
}
