//! STAR syntax (shared by Xmipp `.xmd` and RELION `.star`) and RELION coordinate files.
//!
//! The generic parser returns every data block as labels + rows of raw strings; the typed Xmipp
//! layer ([`super::xmd`]) and the RELION coordinate reader below interpret them.
use std::path::Path;

use super::CoordContext;
use crate::host::{Error, Result};

/// One `data_` block: column labels (without the leading `_`) and rows of raw tokens.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StarBlock {
    /// Block name (the text after `data_`, may be empty).
    pub name: String,
    /// Labels in file order, without the underscore.
    pub labels: Vec<String>,
    /// Rows; each row has exactly `labels.len()` tokens, quotes removed.
    pub rows: Vec<Vec<String>>,
}

impl StarBlock {
    /// Column index of `label` (exact match).
    pub fn column(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == label)
    }
}

/// Splits a line into tokens; `'…'` and `"…"` group text with spaces (quotes removed).
/// A quote only closes when followed by whitespace or the end of the line (STAR rule), so
/// `it's` stays one token.
pub fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let q = chars[i];
        if q == '\'' || q == '"' {
            let mut j = i + 1;
            while j < chars.len()
                && !(chars[j] == q && (j + 1 == chars.len() || chars[j + 1].is_whitespace()))
            {
                j += 1;
            }
            if j < chars.len() {
                out.push(chars[i + 1..j].iter().collect());
                i = j + 1;
                continue;
            }
            // Unclosed quote: take the rest of the token literally.
        }
        let mut j = i;
        while j < chars.len() && !chars[j].is_whitespace() {
            j += 1;
        }
        out.push(chars[i..j].iter().collect());
        i = j;
    }
    out
}

/// Parses STAR text into blocks. Tolerant: comments (`#`), blank lines, `loop_` tables and
/// `_label value` pairs (one row), trailing `#n` column numbers after labels. `name` names the
/// file in errors (row with the wrong number of values, data before any `data_`).
pub fn parse_star(text: &str, name: &str) -> Result<Vec<StarBlock>> {
    #[derive(PartialEq)]
    enum State {
        Pairs,
        LoopLabels,
        LoopRows,
    }
    let mut blocks: Vec<StarBlock> = Vec::new();
    let mut state = State::Pairs;
    let mut pair_row: Vec<String> = Vec::new();
    let flush_pairs = |b: &mut StarBlock, row: &mut Vec<String>| {
        if !row.is_empty() {
            b.rows.push(std::mem::take(row));
        }
    };
    for (ln, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |m: &str| Error::Format(format!("{name}:{}: {m}", ln + 1));
        if let Some(bname) = line.strip_prefix("data_") {
            if let Some(b) = blocks.last_mut() {
                flush_pairs(b, &mut pair_row);
            }
            blocks.push(StarBlock {
                name: bname.trim().to_string(),
                ..Default::default()
            });
            state = State::Pairs;
            continue;
        }
        let block = blocks
            .last_mut()
            .ok_or_else(|| err("content before the first data_ block"))?;
        if line == "loop_" || line.starts_with("loop_ ") {
            if !block.labels.is_empty() {
                return Err(err(
                    "more than one table in one data block is not supported",
                ));
            }
            state = State::LoopLabels;
            continue;
        }
        if let Some(rest) = line.strip_prefix('_') {
            let mut toks = tokenize(rest);
            if toks.is_empty() {
                return Err(err("empty label"));
            }
            let label = toks.remove(0);
            match state {
                State::LoopLabels => block.labels.push(label),
                State::LoopRows => return Err(err("label after the rows of a loop_")),
                State::Pairs => {
                    // `_label value`: one column of the single row.
                    let v = toks
                        .first()
                        .ok_or_else(|| err(&format!("label _{label} without a value")))?;
                    block.labels.push(label);
                    pair_row.push(v.clone());
                }
            }
            continue;
        }
        if state == State::Pairs {
            return Err(err(&format!("unexpected line '{line}' outside a loop_")));
        }
        state = State::LoopRows;
        let toks = tokenize(line);
        if toks.len() != block.labels.len() {
            return Err(err(&format!(
                "row has {} values but the loop has {} labels",
                toks.len(),
                block.labels.len()
            )));
        }
        block.rows.push(toks);
    }
    if let Some(b) = blocks.last_mut() {
        flush_pairs(b, &mut pair_row);
    }
    Ok(blocks)
}

/// Every text reader (coordinates, STAR, XMD, list files) reads through this: regular files
/// only, UTF-8, byte-order mark removed, the file named in errors.
pub(crate) use crate::host::fsutil::read_text;

const PIX: [&str; 3] = ["rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"];
const ANG: [&str; 3] = [
    "rlnCenteredCoordinateXAngst",
    "rlnCenteredCoordinateYAngst",
    "rlnCenteredCoordinateZAngst",
];

/// Reads RELION coordinates: `_rlnCoordinateX/Y/Z` (voxels, taken as 0-based positions) or,
/// if absent, `_rlnCenteredCoordinateX/Y/ZAngst` (Å from the centre, converted with
/// `x = X_Å / sampling + nx / 2`, which needs `ctx.dims` and `ctx.sampling`). The first block
/// with coordinate columns is used; a second such block, or several `_rlnTomoName` values, is
/// an error unless `ctx.tomo_name` selects one.
pub fn read_star(path: &Path, ctx: &CoordContext) -> Result<Vec<[f64; 3]>> {
    let name = path.display().to_string();
    let blocks = parse_star(&read_text(path)?, &name)?;
    let has = |b: &StarBlock, set: &[&str; 3]| set.iter().all(|l| b.column(l).is_some());
    let candidates: Vec<&StarBlock> = blocks
        .iter()
        .filter(|b| has(b, &PIX) || has(b, &ANG))
        .collect();
    let block = match (candidates.len(), &ctx.tomo_name) {
        (0, _) => {
            return Err(Error::Format(format!(
                "{name}: no data block has _rlnCoordinateX/Y/Z or _rlnCenteredCoordinateX/Y/ZAngst"
            )))
        }
        (1, _) => candidates[0],
        (n, Some(t)) => candidates
            .iter()
            .find(|b| &b.name == t)
            .copied()
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{name}: {n} data blocks hold coordinates and none is named data_{t}"
                ))
            })?,
        (n, None) => {
            return Err(Error::Invalid(format!(
                "{name}: {n} data blocks hold coordinates; choose one by tomogram name"
            )))
        }
    };
    let tomo_col = block.column("rlnTomoName");
    if let (Some(c), None) = (tomo_col, &ctx.tomo_name) {
        let first = block.rows.first().map(|r| &r[c]);
        if block.rows.iter().any(|r| Some(&r[c]) != first) {
            return Err(Error::Invalid(format!(
                "{name}: rows belong to several tomograms (_rlnTomoName); choose one by name"
            )));
        }
    }
    let centred = !has(block, &PIX);
    let cols = if centred { ANG } else { PIX }.map(|l| block.column(l).unwrap());
    let (dims, sampling) = if centred {
        match (ctx.dims, ctx.sampling) {
            (Some(d), Some(s)) if s > 0.0 => (d, s),
            _ => {
                return Err(Error::Invalid(format!(
                    "{name}: centred Å coordinates need the tomogram dimensions and sampling"
                )))
            }
        }
    } else {
        ([0; 3], 1.0)
    };
    let mut out = Vec::with_capacity(block.rows.len());
    for (i, row) in block.rows.iter().enumerate() {
        if let (Some(c), Some(t)) = (tomo_col, &ctx.tomo_name) {
            if &row[c] != t {
                continue;
            }
        }
        let mut p = [0.0; 3];
        for k in 0..3 {
            let v: f64 = row[cols[k]].parse().map_err(|_| {
                Error::Format(format!(
                    "{name}: row {}: '{}' is not a number",
                    i + 1,
                    row[cols[k]]
                ))
            })?;
            if !v.is_finite() {
                return Err(Error::Format(format!(
                    "{name}: row {}: non-finite value",
                    i + 1
                )));
            }
            p[k] = if centred {
                v / sampling + dims[k] as f64 / 2.0
            } else {
                v
            };
            // A finite Å value over a tiny sampling can still overflow to infinity; every
            // stage after the reader relies on finite coordinates (found by fuzzing).
            if !p[k].is_finite() {
                return Err(Error::Invalid(format!(
                    "{name}: row {}: {v} Å at {sampling} Å/voxel is not a representable                      voxel position (check the sampling)",
                    i + 1
                )));
            }
        }
        out.push(p);
    }
    if let (Some(_), Some(t), true) = (tomo_col, &ctx.tomo_name, out.is_empty()) {
        if !block.rows.is_empty() {
            return Err(Error::Invalid(format!(
                "{name}: no row has _rlnTomoName {t}"
            )));
        }
    }
    Ok(out)
}

/// Writes RELION coordinates. With `centred = false`: `_rlnCoordinateX/Y/Z` in voxels; with
/// `centred = true`: `_rlnCenteredCoordinateX/Y/ZAngst` = (x − nx/2) · sampling (needs `ctx`).
pub fn star_text(points: &[[f64; 3]], centred: bool, ctx: &CoordContext) -> Result<String> {
    let mut s = String::from("# Written by misalign\n\ndata_particles\n\nloop_\n");
    let labels = if centred { ANG } else { PIX };
    for (k, l) in labels.iter().enumerate() {
        s.push_str(&format!("_{l} #{}\n", k + 1));
    }
    let (dims, sampling) =
        if centred {
            match (ctx.dims, ctx.sampling) {
                (Some(d), Some(sa)) if sa > 0.0 => (d, sa),
                _ => return Err(Error::Invalid(
                    "writing centred Å STAR coordinates needs the tomogram dimensions and sampling"
                        .into(),
                )),
            }
        } else {
            ([0; 3], 1.0)
        };
    for p in points {
        let v: [f64; 3] = [0, 1, 2].map(|k| {
            if centred {
                (p[k] - dims[k] as f64 / 2.0) * sampling
            } else {
                p[k]
            }
        });
        // Enough digits to round-trip an f64 exactly.
        s.push_str(&format!("{:?} {:?} {:?}\n", v[0], v[1], v[2]));
    }
    Ok(s)
}
