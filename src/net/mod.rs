//! The misalignment network (no_std, no heap): topology, weight files, forward pass.
pub mod topology;
