//! IMOD point text (read-only): `model2point` output and tiltalign's 3-D fiducial `.xyz` list.
//!
//! IMOD model coordinates put (0, 0) at the lower-left *corner* of the first pixel in X and Y,
//! so a pixel centre sits at index + 0.5, while Z is the section number with section centres at
//! integers (first section = 0). Internal coordinates have voxel centres at integers, hence
//! `internal = (x − 0.5, y − 0.5, z)`.
use std::path::Path;

use super::star::read_text;
use crate::host::{Error, Result};

/// Which IMOD text layout a file has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImodLayout {
    /// `model2point`: `x y z`, `contour x y z` or `object contour x y z` per line: the last
    /// three numbers are the coordinates.
    Points,
    /// tiltalign `.xyz`: `point x y z [object contour …]`: columns 2–4 are the coordinates.
    /// Lines not starting with an integer point number (the text header) are skipped.
    Xyz,
}

/// Reads IMOD model coordinates and converts them to internal 0-based voxel positions.
/// Blank lines and `#` comments are skipped; every other line must be numeric.
pub fn read_imod(path: &Path, layout: ImodLayout) -> Result<Vec<[f64; 3]>> {
    let name = path.display().to_string();
    let text = read_text(path)?;
    let mut out = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        // tiltalign starts its .xyz file with text lines (e.g. one holding "pix: <size>"); a
        // data line starts with an integer point number.
        let first = t.split_whitespace().next().unwrap_or("");
        if layout == ImodLayout::Xyz && first.parse::<u64>().is_err() {
            continue;
        }
        let nums: Vec<f64> = t
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                Error::Format(format!("{name}:{}: non-numeric value in '{t}'", ln + 1))
            })?;
        let xyz = match layout {
            ImodLayout::Points if (3..=5).contains(&nums.len()) => &nums[nums.len() - 3..],
            ImodLayout::Xyz if nums.len() >= 4 => &nums[1..4],
            _ => {
                return Err(Error::Format(format!(
                    "{name}:{}: {} numbers on the line do not fit the IMOD {} layout",
                    ln + 1,
                    nums.len(),
                    match layout {
                        ImodLayout::Points => "model2point (3 to 5 numbers)",
                        ImodLayout::Xyz => "tiltalign .xyz (at least 4 numbers)",
                    }
                )))
            }
        };
        out.push([xyz[0] - 0.5, xyz[1] - 0.5, xyz[2]]);
    }
    Ok(out)
}
