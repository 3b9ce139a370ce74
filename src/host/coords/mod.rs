//! Bead coordinate files: Xmipp `.xmd`, RELION `.star`, CSV and IMOD point text.
//!
//! Every reader returns internal coordinates: `[x, y, z]` in tomogram voxels, 0-based, voxel
//! centres at integers (docs/conventions.md). Per-format origins and units: docs/formats.md.
pub mod csv;
pub mod imod;
pub mod star;
pub mod xmd;

use std::path::Path;

use crate::host::{fsutil::write_atomic, Error, Result};
use imod::ImodLayout;
use xmd::{MetaData, Value};

/// What some formats need to convert to internal coordinates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CoordContext {
    /// Tomogram `[nx, ny, nz]` (needed for RELION centred-Å coordinates).
    pub dims: Option<[usize; 3]>,
    /// Tomogram sampling in Å/voxel (needed for RELION centred-Å coordinates).
    pub sampling: Option<f64>,
    /// Tomogram name selecting rows (`_rlnTomoName`) or a data block in multi-tomogram STAR files.
    pub tomo_name: Option<String>,
}

/// A coordinate file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordFormat {
    /// Xmipp metadata with `xcoor ycoor zcoor` (integers; written truncated toward zero).
    Xmd,
    /// RELION STAR; read accepts pixel or centred-Å columns, write uses `_rlnCoordinateX/Y/Z`.
    Star,
    /// RELION STAR written with `_rlnCenteredCoordinateX/Y/ZAngst` (needs dims and sampling).
    StarCentredAngst,
    /// CSV with an `x,y,z` header.
    Csv,
    /// IMOD `model2point` text (read only).
    ImodPoints,
    /// IMOD tiltalign `.xyz` fiducial list (read only).
    ImodXyz,
}

impl CoordFormat {
    /// The format implied by the file extension: `.xmd`, `.star`, `.csv`, `.txt`/`.pt`
    /// (model2point) or `.xyz` (tiltalign).
    pub fn from_path(path: &Path) -> Result<CoordFormat> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        Ok(match ext.as_str() {
            "xmd" => CoordFormat::Xmd,
            "star" => CoordFormat::Star,
            "csv" => CoordFormat::Csv,
            "txt" | "pt" => CoordFormat::ImodPoints,
            "xyz" => CoordFormat::ImodXyz,
            _ => {
                return Err(Error::Invalid(format!(
                    "{}: cannot tell the coordinate format from the extension '{ext}' \
                     (use .xmd, .star, .csv, .txt/.pt or .xyz, or name the format)",
                    path.display()
                )))
            }
        })
    }

    /// Parses a format name as given on a command line (`xmd`, `star`, `star-angst`, `csv`,
    /// `imod`, `xyz`).
    pub fn from_name(name: &str) -> Result<CoordFormat> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "xmd" => CoordFormat::Xmd,
            "star" => CoordFormat::Star,
            "star-angst" => CoordFormat::StarCentredAngst,
            "csv" => CoordFormat::Csv,
            "imod" | "txt" | "pt" => CoordFormat::ImodPoints,
            "xyz" => CoordFormat::ImodXyz,
            _ => {
                return Err(Error::Invalid(format!(
                    "unknown coordinate format '{name}' (xmd, star, star-angst, csv, imod, xyz)"
                )))
            }
        })
    }
}

/// Reads coordinates, choosing the format from the extension.
pub fn read_coordinates(path: impl AsRef<Path>, ctx: &CoordContext) -> Result<Vec<[f64; 3]>> {
    let path = path.as_ref();
    read_coordinates_as(path, CoordFormat::from_path(path)?, ctx)
}

/// Reads coordinates in a given format.
pub fn read_coordinates_as(
    path: impl AsRef<Path>,
    format: CoordFormat,
    ctx: &CoordContext,
) -> Result<Vec<[f64; 3]>> {
    let path = path.as_ref();
    match format {
        CoordFormat::Xmd => read_xmd_coordinates(path),
        CoordFormat::Star | CoordFormat::StarCentredAngst => star::read_star(path, ctx),
        CoordFormat::Csv => csv::read_csv(path),
        CoordFormat::ImodPoints => imod::read_imod(path, ImodLayout::Points),
        CoordFormat::ImodXyz => imod::read_imod(path, ImodLayout::Xyz),
    }
}

fn read_xmd_coordinates(path: &Path) -> Result<Vec<[f64; 3]>> {
    let md = xmd::read_xmd(path)?;
    let name = path.display();
    let cols = ["xcoor", "ycoor", "zcoor"].map(|l| md.column(l));
    let [Some(cx), Some(cy), Some(cz)] = cols else {
        return Err(Error::Format(format!(
            "{name}: the metadata has no xcoor/ycoor/zcoor columns"
        )));
    };
    md.rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let get = |c: usize| {
                r[c].as_f64().ok_or_else(|| {
                    Error::Format(format!("{name}: row {}: coordinate is not a number", i + 1))
                })
            };
            Ok([get(cx)?, get(cy)?, get(cz)?])
        })
        .collect()
}

/// Writes coordinates atomically. Xmd truncates toward zero (as Xmipp's integer labels do);
/// the IMOD formats are read-only. `ctx` is only used for centred-Å STAR.
pub fn write_coordinates(
    path: impl AsRef<Path>,
    points: &[[f64; 3]],
    format: CoordFormat,
    ctx: &CoordContext,
) -> Result<()> {
    let path = path.as_ref();
    if let Some(p) = points.iter().find(|p| p.iter().any(|v| !v.is_finite())) {
        return Err(Error::Invalid(format!(
            "{}: refusing to write the non-finite coordinate {p:?}",
            path.display()
        )));
    }
    let text = match format {
        CoordFormat::Xmd => {
            let mut md = MetaData::with_labels(&["xcoor", "ycoor", "zcoor"]);
            for p in points {
                if p.iter().any(|v| v.abs() >= 9.0e15) {
                    return Err(Error::Invalid(format!(
                        "{}: coordinate {p:?} is too large for an integer column",
                        path.display()
                    )));
                }
                md.push(p.map(|v| Value::Int(v.trunc() as i64)).to_vec())?;
            }
            xmd::xmd_text(&md)?
        }
        CoordFormat::Star => star::star_text(points, false, ctx)?,
        CoordFormat::StarCentredAngst => star::star_text(points, true, ctx)?,
        CoordFormat::Csv => csv::csv_text(points),
        CoordFormat::ImodPoints | CoordFormat::ImodXyz => {
            return Err(Error::Invalid(format!(
                "{}: IMOD point files are read-only here (write .xmd, .star or .csv)",
                path.display()
            )))
        }
    };
    write_atomic(path, text.as_bytes())
}
