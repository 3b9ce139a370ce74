//! The std layer: files, threads and whole-tomogram pipelines on top of the no_std core.
//!
//! Data flows one way: tomogram ([`mrc`]) → bead coordinates ([`detector`] or [`coords`]) →
//! 32³ cubes ([`extract`]) → scores ([`crate::net`]) → verdict ([`crate::decide`]).
pub mod acquisition;
pub mod alloc;
pub mod batch;
pub mod check;
pub mod coords;
pub mod detector;
pub mod error;
pub mod extract;
pub mod fft;
pub mod fsutil;
pub mod infer;
pub mod intensity;
pub mod mrc;
pub mod networks;
pub mod report;
pub mod volume;
pub mod xmipp_score;

pub use acquisition::{resolve_sampling, resolve_threads, Acquisition, AcquisitionInput};
pub use error::{report_progress, Error, Progress, Result};
pub use volume::{SliceSource, Volume, VolumeView};
