//! CSV coordinates: a header row naming `x`, `y`, `z` (any order, extra columns ignored),
//! values in tomogram voxels, 0-based, voxel centres at integers (the internal convention).
use std::path::Path;

use super::star::read_text;
use crate::host::{Error, Result};

/// Reads `x,y,z` columns by header name (case-insensitive, surrounding spaces and double quotes
/// ignored). Blank lines and lines starting with `#` are skipped.
pub fn read_csv(path: &Path) -> Result<Vec<[f64; 3]>> {
    let name = path.display().to_string();
    let text = read_text(path)?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (_, header) = lines
        .next()
        .ok_or_else(|| Error::Format(format!("{name}: empty CSV file (no header row)")))?;
    let cells = |l: &str| -> Vec<String> {
        l.split(',')
            .map(|c| c.trim().trim_matches('"').trim().to_string())
            .collect()
    };
    let head = cells(header);
    let col = |want: &str| {
        head.iter()
            .position(|h| h.eq_ignore_ascii_case(want))
            .ok_or_else(|| {
                Error::Format(format!(
                    "{name}: the header row has no '{want}' column (found: {})",
                    head.join(", ")
                ))
            })
    };
    let cols = [col("x")?, col("y")?, col("z")?];
    let mut out = Vec::new();
    for (ln, line) in lines {
        let c = cells(line);
        let mut p = [0.0; 3];
        for k in 0..3 {
            let cell = c.get(cols[k]).ok_or_else(|| {
                Error::Format(format!(
                    "{name}:{}: row has {} cells, fewer than the header",
                    ln + 1,
                    c.len()
                ))
            })?;
            p[k] = cell
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    Error::Format(format!(
                        "{name}:{}: '{cell}' is not a finite number",
                        ln + 1
                    ))
                })?;
        }
        out.push(p);
    }
    Ok(out)
}

/// CSV text with an `x,y,z` header; values printed with round-trip precision.
pub fn csv_text(points: &[[f64; 3]]) -> String {
    let mut s = String::from("x,y,z\n");
    for p in points {
        s.push_str(&format!("{:?},{:?},{:?}\n", p[0], p[1], p[2]));
    }
    s
}
