//! # misalign
//!
//! Tells whether a cryo-electron tomogram suffers from tilt-series misalignment by looking at the
//! gold fiducial beads inside it: find the beads, cut a 32³ cube around each at a sampling where
//! the bead spans 16 voxels, score each cube with two small 3D CNNs (strong / weak
//! misalignment) and combine the scores into a verdict.
//!
//! Layers (each calls only the one below it):
//! - **core** (`no_std`, no heap): [`net`] (the network), [`detect`] (slice kernels of the bead
//!   detector), [`decide`] (the tomogram verdict). The caller hands in scratch buffers whose sizes
//!   are public constants. [`rng`] is the one deterministic random generator of the project
//!   (simulator, trainer, tests).
//! - **host** (feature `std`): [`host`] — MRC I/O, coordinate formats, threaded drivers,
//!   extraction, the whole `check` pipeline and reports.
//! - **C ABI** (feature `std`): [`ffi`], exported as `misalign_*` (header `include/misalign.h`).
//! - **simulator** (feature `sim`, on by default): [`sim`] — synthetic tilt series and
//!   tomograms for `misalign simulate` / `demo`, the tests and the trainer's evaluation. Kept out
//!   of the host layer so the C ABI build (`--no-default-features --features std`) and `no_std`
//!   builds do not carry it.
//!
//! Conventions (axis order, units, coordinate origins) are written once in `docs/conventions.md`.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod decide;
pub mod detect;
pub mod net;
pub mod rng;

#[cfg(feature = "std")]
pub mod host;

#[cfg(feature = "std")]
pub mod ffi;

#[cfg(feature = "sim")]
pub mod sim;

/// The crate version, as reported by `misalign --version` and in reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
