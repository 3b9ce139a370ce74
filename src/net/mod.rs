//! The misalignment network (no_std, no heap): topology, weight files, forward pass.
//!
//! Typical use: [`weights::WeightFile::parse`] the bytes of a `.mlw` file, expand them once into
//! a [`forward::Prepared`], then call [`forward::score`] per cube with one [`forward::Scratch`]
//! per thread.
pub mod baked;
pub mod forward;
pub mod kernels;
pub mod topology;
pub mod weights;

pub use forward::{logit, normalize_cube, score, Prepared, Scratch, SCRATCH_LEN};
pub use weights::{WeightError, WeightFile};
