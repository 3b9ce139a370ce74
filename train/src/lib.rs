//! Trainer for the misalign networks: forward and backward passes of the fixed topology
//! (`misalign::net::topology`) on f32 mini-batches, Adam, a simulated data set with the paper's
//! class balancing, checkpoints and export.
pub mod adam;
pub mod calibrate;
pub mod checkpoint;
pub mod data;
pub mod layers;
pub mod model;
pub mod plot;
pub mod qsim;
pub mod train;
