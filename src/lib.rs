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
//! - **simulator** (feature `sim`, on by default): [`sim`] — synthetic tilt series and
//!   tomograms for `misalign simulate` / `demo`, the tests and the trainer's evaluation. Kept out
//!   of the host layer so the C ABI build (`--no-default-features --features std`) and `no_std`
//!   builds do not carry it.
//! - **C ABI** (feature `std`): [`ffi`], exported as `misalign_*` (header `include/misalign.h`,
//!   guide `docs/c-abi.md`).
//!
//! Conventions (axis order, units, coordinate origins) are written once in `docs/conventions.md`.
//!
//! ## The public API, one entry point per task
//!
//! | task | entry point |
//! |---|---|
//! | check a tomogram file, write its report folder | [`host::check::check_tomogram`] |
//! | check many files / watch a folder | [`host::batch::run_batch`], [`host::batch::watch`] |
//! | check a volume in memory | [`host::check::analyze`] |
//! | find the gold beads | [`host::detector::detect`] |
//! | cut the 32³ network cubes | [`host::extract::extract`] |
//! | score cubes, decide | [`host::networks::Networks::classify`], [`decide::decide`] |
//! | one cube without std or heap | [`net::forward::score`] |
//! | read / write MRC | [`host::mrc::MrcFile`], [`host::mrc::read_volume`], [`host::mrc::write_volume`] |
//! | read / write bead coordinates (IMOD, XMD, STAR, CSV) | [`host::coords::read_coordinates`], [`host::coords::write_coordinates`] |
//! | the Xmipp `deep_misalignment_detection` drop-in | [`host::xmipp_score::score_xmipp`] |
//!
//! Voxel size and bead diameter travel together as an [`host::Acquisition`]; a thread count of
//! 0 means every core everywhere ([`host::resolve_threads`]).
//!
//! ### A tomogram file, as `misalign check` does it
//!
//! ```no_run
//! # fn main() -> misalign::host::Result<()> {
//! use misalign::host::check::{check_tomogram, CheckParams};
//! use misalign::host::networks::Networks;
//! use misalign::host::AcquisitionInput;
//!
//! let nets = Networks::baked()?;
//! // 10 nm gold; the voxel size comes from the MRC header.
//! let acq = AcquisitionInput { sampling_a: None, bead_diameter_a: 100.0 };
//! let outcome = check_tomogram(
//!     "TS_01.mrc".as_ref(), &acq, &CheckParams::default(), &nets, "reports/TS_01".as_ref())?;
//! println!("{}", outcome.verdict_line());
//! # Ok(()) }
//! ```
//!
//! ### A volume in memory, with bead positions from the alignment
//!
//! ```
//! # fn main() -> misalign::host::Result<()> {
//! use misalign::decide::Verdict;
//! use misalign::host::check::{analyze, CheckParams};
//! use misalign::host::networks::Networks;
//! use misalign::host::{Acquisition, Volume};
//!
//! // A flat 64³ volume at 10 Å/voxel: no gold, so nothing can be said.
//! let vol = Volume::from_data([64; 3], [10.0; 3], vec![1.0; 64 * 64 * 64])?;
//! let acq = Acquisition::new(10.0, 100.0)?;
//! let nets = Networks::baked()?;
//! let a = analyze(&vol, &acq, None, &CheckParams::default(), &nets, None)?;
//! assert_eq!(a.decision.verdict, Verdict::Undetermined);
//! assert!(a.beads.is_empty());
//! # Ok(()) }
//! ```
//!
//! ### The decision alone (core, `no_std`)
//!
//! ```
//! use misalign::decide::{decide, Criterion, Verdict};
//!
//! // The strong network passes (mean 0.9 > 0.5); the weak mean 0.3 is below t = 0.45.
//! let d = decide(&[0.9, 0.95, 0.85], Some(&[0.2, 0.4, 0.3]), Criterion::Mean, Some(0.45));
//! assert_eq!(d.verdict, Verdict::Weak);
//! assert_eq!(d.strong.unwrap().votes, 3);
//! ```
//!
//! ### One cube through a network, without heap
//!
//! ```
//! use misalign::net::forward::{normalize_cube, score, Prepared, Scratch};
//! use misalign::net::topology::CUBE_LEN;
//!
//! // Large values: keep them off a small stack (a `static` works the same way without std).
//! let mut net = Box::new(Prepared::zeroed());
//! net.load(&misalign::net::baked::strong().expect("built-in weights"));
//! let mut scratch = Box::new(Scratch::zeroed());
//! let mut cube = Box::new([0.0f32; CUBE_LEN]);
//! cube[CUBE_LEN / 2] = -5.0;
//! normalize_cube(&mut cube);
//! let s = score(&net, &cube, &mut scratch);
//! assert!((0.0..=1.0).contains(&s));
//! ```
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
