//! Per-tomogram report folders for `misalign check`: `beads.csv`, `beads.star`, `report.html`
//! and, written last, `report.json`. The report only presents what the pipeline found
//! ([`TomogramResult`], defined in [`crate::host::check`]); it computes nothing of its own.
//!
//! The presence of `report.json` means the folder is complete: a stale one is removed before
//! anything else is written, every file is written atomically, and `report.json` comes last.
//! Batch resume relies on that.
pub(crate) mod html;
pub(crate) mod image;
pub(crate) mod json;
pub(crate) mod markup;
pub(crate) mod svg;
pub(crate) mod table;

use std::path::Path;

use crate::host::check::TomogramResult;
use crate::host::fsutil::write_atomic;
use crate::host::{Error, Result, SliceSource};
use crate::net::topology::CUBE_LEN;

pub use image::encode_png_gray;

/// Optional pictures for the HTML page.
#[derive(Clone, Copy, Debug)]
pub struct Pictures<'a> {
    /// One XY slice of the tomogram, `slice_dims[0] · slice_dims[1]` values, x fastest.
    pub central_slice: &'a [f32],
    /// `[nx, ny]` of the slice.
    pub slice_dims: [usize; 2],
    /// Which z the slice is.
    pub slice_z: usize,
    /// The network cubes, `beads.len() · CUBE_LEN` values, same order as the beads; empty when
    /// they were not kept (more than [`crate::host::check::SCORE_BATCH`] beads).
    pub cubes: &'a [f32],
}

/// File names inside a report folder.
pub const REPORT_JSON: &str = "report.json";
pub const BEADS_CSV: &str = "beads.csv";
pub const BEADS_STAR: &str = "beads.star";
pub const REPORT_HTML: &str = "report.html";

/// Writes the report folder `dir` (created if needed). Files appear whole or not at all, and
/// `report.json` is written last; an older `report.json` is removed first, so after a failure
/// the folder never looks complete.
pub fn write_report_dir(dir: &Path, r: &TomogramResult, pics: Option<&Pictures>) -> Result<()> {
    validate(r, pics)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating report folder {}", dir.display()), e))?;
    let json_path = dir.join(REPORT_JSON);
    match std::fs::remove_file(&json_path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::io(
                format!("removing the old {}", json_path.display()),
                e,
            ))
        }
    }
    write_atomic(&dir.join(BEADS_CSV), table::beads_csv(r).as_bytes())?;
    write_atomic(&dir.join(BEADS_STAR), table::beads_star(r).as_bytes())?;
    write_atomic(&dir.join(REPORT_HTML), html::page(r, pics)?.as_bytes())?;
    write_atomic(&json_path, json::report_json(r).as_bytes())
}

/// Reads the central XY slice (z = nz / 2) of a tomogram for [`Pictures::central_slice`].
/// Returns the slice, `[nx, ny]` and z.
pub fn read_central_slice(src: &dyn SliceSource) -> Result<(Vec<f32>, [usize; 2], usize)> {
    let [nx, ny, nz] = src.dims();
    crate::host::volume::voxel_count([nx, ny, nz])?;
    let z = nz / 2;
    let mut slice = crate::host::alloc::zeroed(nx * ny, "the central slice")?;
    src.read_slice(z, &mut slice)?;
    Ok((slice, [nx, ny], z))
}

/// Checks that the pictures match the report before anything is written.
fn validate(r: &TomogramResult, pics: Option<&Pictures>) -> Result<()> {
    let Some(p) = pics else { return Ok(()) };
    let [w, h] = p.slice_dims;
    if w == 0 || h == 0 || w.checked_mul(h) != Some(p.central_slice.len()) {
        return Err(Error::Invalid(format!(
            "report for {}: the central slice has {} values, not {w}×{h}",
            r.tomogram.display(),
            p.central_slice.len()
        )));
    }
    // No cubes at all is allowed: they are not kept for very many beads.
    if !p.cubes.is_empty() && Some(p.cubes.len()) != r.beads.len().checked_mul(CUBE_LEN) {
        return Err(Error::Invalid(format!(
            "report for {}: {} cube values for {} beads (need {} per bead)",
            r.tomogram.display(),
            p.cubes.len(),
            r.beads.len(),
            CUBE_LEN
        )));
    }
    Ok(())
}
