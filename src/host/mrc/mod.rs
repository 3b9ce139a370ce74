//! MRC files (CCP-EM MRC2014): a lazy, thread-safe reader for modes 0, 1, 2, 6 and 12 in either
//! byte order and any axis order, and an atomic float32/float16 writer (whole or streaming).
//!
//! Everything is converted to `f32` and returned in `[x, y, z]` order, x fastest
//! (docs/conventions.md). Details of each field and choice: docs/formats.md.
mod header;
mod reader;
mod writer;

use std::path::Path;

pub use header::{ByteOrder, MrcHeader, MrcMode, HEADER_LEN, MAX_DIM, NVERSION};
pub use reader::MrcFile;
pub use writer::{write_volume, MrcWriter, RunningStats};

use super::{Result, Volume};

/// Reads a whole MRC file into memory (convenience over [`MrcFile::open`]).
pub fn read_volume(path: impl AsRef<Path>) -> Result<Volume> {
    MrcFile::open(path)?.read_volume()
}
