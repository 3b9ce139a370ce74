//! Xmipp metadata (`.xmd`): a typed table, a tolerant reader and a writer that reproduces
//! Xmipp's text byte for byte (shared/spec/xmipp-formats.md §1, §3).
use std::path::Path;

use super::star::{parse_star, read_text, StarBlock};
use crate::host::{fsutil::write_atomic, Error, Result};

/// A value of one cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// int / size_t labels (`%20d`).
    Int(i64),
    /// double labels (`%12.6f`, or `%12.6e` when 0 < |v| < 0.001).
    Double(f64),
    /// bool labels (`0` / `1`).
    Bool(bool),
    /// string labels (quoted when needed).
    Str(String),
}

impl Value {
    /// The value as f64 (bools as 0/1; strings parsed), `None` if not numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Double(d) => Some(*d),
            Value::Bool(b) => Some(*b as u8 as f64),
            Value::Str(s) => s.trim().parse().ok(),
        }
    }

    /// The value as text (strings unquoted, numbers as Xmipp formats them, trimmed).
    pub fn as_str(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            v => format_value(v).trim().to_string(),
        }
    }
}

/// Type of a known label's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelType {
    /// int / size_t.
    Int,
    /// double.
    Double,
    /// bool.
    Bool,
    /// string.
    Str,
}

/// The labels this project uses, in Xmipp's enumeration order (which fixes the column order of
/// written files), with their types.
pub const KNOWN_LABELS: [(&str, LabelType); 16] = [
    ("anglePsi", LabelType::Double),
    ("angleRot", LabelType::Double),
    ("angleTilt", LabelType::Double),
    ("enabled", LabelType::Int),
    ("flip", LabelType::Bool),
    ("image", LabelType::Str),
    ("itemId", LabelType::Int),
    ("max", LabelType::Double),
    ("min", LabelType::Double),
    ("particleId", LabelType::Int),
    ("shiftX", LabelType::Double),
    ("shiftY", LabelType::Double),
    ("shiftZ", LabelType::Double),
    ("xcoor", LabelType::Int),
    ("ycoor", LabelType::Int),
    ("zcoor", LabelType::Int),
];

/// Enumeration rank and type of a known label (old aliases `Xcoor`… map to `xcoor`…).
fn known(label: &str) -> Option<(usize, LabelType)> {
    let canon = canonical(label);
    KNOWN_LABELS
        .iter()
        .position(|(n, _)| *n == canon)
        .map(|i| (i, KNOWN_LABELS[i].1))
}

fn canonical(label: &str) -> &str {
    match label {
        "Xcoor" => "xcoor",
        "Ycoor" => "ycoor",
        "Zcoor" => "zcoor",
        l => l,
    }
}

/// An Xmipp metadata table: one block, named columns, typed rows.
#[derive(Clone, Debug, PartialEq)]
pub struct MetaData {
    /// Block name (`noname` unless written as `name@file`).
    pub block: String,
    /// Comment line text (written after `# `; empty by default, as Xmipp's programs leave it).
    pub comment: String,
    /// Column labels. Any order; the writer sorts known labels into Xmipp's enum order.
    pub labels: Vec<String>,
    /// Rows, each with one value per label.
    pub rows: Vec<Vec<Value>>,
}

impl MetaData {
    /// An empty table with these columns.
    pub fn with_labels(labels: &[&str]) -> MetaData {
        MetaData {
            block: "noname".into(),
            comment: String::new(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; its length must match the labels.
    pub fn push(&mut self, row: Vec<Value>) -> Result<()> {
        if row.len() != self.labels.len() {
            return Err(Error::Invalid(format!(
                "metadata row has {} values for {} labels",
                row.len(),
                self.labels.len()
            )));
        }
        self.rows.push(row);
        Ok(())
    }

    /// Column index of `label` (aliases `Xcoor`… accepted).
    pub fn column(&self, label: &str) -> Option<usize> {
        let want = canonical(label);
        self.labels.iter().position(|l| canonical(l) == want)
    }

    /// Value at `row` of column `label`.
    pub fn get(&self, row: usize, label: &str) -> Option<&Value> {
        let c = self.column(label)?;
        self.rows.get(row).map(|r| &r[c])
    }

    /// Converts a parsed STAR block, typing known labels (ints may carry a decimal point and
    /// are truncated); unknown labels stay strings.
    fn from_block(b: StarBlock, name: &str) -> Result<MetaData> {
        let types: Vec<Option<LabelType>> =
            b.labels.iter().map(|l| known(l).map(|k| k.1)).collect();
        let mut rows = Vec::with_capacity(b.rows.len());
        for (i, raw) in b.rows.into_iter().enumerate() {
            let mut row = Vec::with_capacity(raw.len());
            for (tok, (t, label)) in raw.into_iter().zip(types.iter().zip(&b.labels)) {
                let bad = || {
                    Error::Format(format!(
                        "{name}: row {}: '{tok}' is not a valid {label}",
                        i + 1
                    ))
                };
                let num = || tok.parse::<f64>().ok().filter(|v| !v.is_nan());
                row.push(match t {
                    Some(LabelType::Int) => {
                        let v = num().ok_or_else(bad)?;
                        if v.abs() > 9.0e15 {
                            return Err(bad());
                        }
                        Value::Int(v.trunc() as i64)
                    }
                    Some(LabelType::Double) => {
                        Value::Double(tok.parse::<f64>().map_err(|_| bad())?)
                    }
                    Some(LabelType::Bool) => {
                        let v = num().ok_or_else(bad)?;
                        if v != 0.0 && v != 1.0 {
                            return Err(bad());
                        }
                        Value::Bool(v == 1.0)
                    }
                    Some(LabelType::Str) | None => Value::Str(tok.clone()),
                });
            }
            rows.push(row);
        }
        Ok(MetaData {
            block: b.name,
            comment: String::new(),
            labels: b.labels,
            rows,
        })
    }
}

/// Reads the first block of an `.xmd` file, or block `name` when `path` is `name@file` and no
/// file of that literal name exists.
pub fn read_xmd(path: impl AsRef<Path>) -> Result<MetaData> {
    let path = path.as_ref();
    let s = path.to_string_lossy();
    if !path.exists() {
        if let Some((block, file)) = s.split_once('@') {
            return read_xmd_block(Path::new(file), Some(block));
        }
    }
    read_xmd_block(path, None)
}

/// Reads block `block` (or the first block) of an `.xmd` file.
pub fn read_xmd_block(path: &Path, block: Option<&str>) -> Result<MetaData> {
    let name = path.display().to_string();
    let blocks = parse_star(&read_text(path)?, &name)?;
    let b = match block {
        None => blocks.into_iter().next(),
        Some(want) => blocks.into_iter().find(|b| b.name == want),
    }
    .ok_or_else(|| {
        Error::Format(format!(
            "{name}: no data block{}",
            block.map(|b| format!(" named {b}")).unwrap_or_default()
        ))
    })?;
    MetaData::from_block(b, &name)
}

/// Formats one value as Xmipp does (without the trailing space).
pub fn format_value(v: &Value) -> String {
    match v {
        Value::Int(i) => format!("{i:>20}"),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        Value::Double(d) => format_double(*d),
        Value::Str(s) => quote(s),
    }
}

/// `%12.6f`, or `%12.6e` with a two-digit signed exponent when 0 < |v| < 0.001.
fn format_double(d: f64) -> String {
    if d.is_nan() {
        return format!("{:>12}", "nan");
    }
    if d.is_infinite() {
        return format!("{:>12}", if d > 0.0 { "inf" } else { "-inf" });
    }
    if d != 0.0 && d.abs() < 0.001 {
        let s = format!("{d:.6e}");
        let (mant, exp) = s
            .split_once('e')
            .expect("Rust's {:e} always has an exponent");
        let exp: i32 = exp.parse().expect("exponent is an integer");
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{:>12}", format!("{mant}e{sign}{:02}", exp.abs()));
    }
    format!("{d:12.6}")
}

fn quote(s: &str) -> String {
    if s.is_empty() || s.contains(' ') || s.contains('"') {
        format!("'{s}'")
    } else if s.contains('\'') {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

/// The `.xmd` text of `md`, exactly as Xmipp writes it: columns of known labels in Xmipp's enum
/// order, unknown labels after them in their given order. Values of known labels must match the
/// label's type (an `Int` is accepted for a double or bool label and converted).
pub fn xmd_text(md: &MetaData) -> Result<String> {
    let mut order: Vec<usize> = (0..md.labels.len()).collect();
    order.sort_by_key(|&i| known(&md.labels[i]).map_or(usize::MAX, |k| k.0));
    // With no columns this is the whole file: the four header lines (spec §1).
    let mut s = format!(
        "# XMIPP_STAR_1 * \n# {}\ndata_{}\nloop_\n",
        md.comment, md.block
    );
    for &i in &order {
        s.push_str(&format!(" _{}\n", canonical(&md.labels[i])));
    }
    if md.labels.is_empty() {
        return Ok(s);
    }
    for (r, row) in md.rows.iter().enumerate() {
        if row.len() != md.labels.len() {
            return Err(Error::Invalid(format!(
                "metadata row {} has {} values for {} labels",
                r + 1,
                row.len(),
                md.labels.len()
            )));
        }
        for &i in &order {
            let v = coerce(&row[i], &md.labels[i], r)?;
            s.push_str(&format_value(&v));
            s.push(' ');
        }
        s.push('\n');
    }
    Ok(s)
}

/// Checks a value against its label's type, converting ints where Xmipp would.
fn coerce(v: &Value, label: &str, row: usize) -> Result<Value> {
    let Some((_, t)) = known(label) else {
        return Ok(v.clone());
    };
    Ok(match (t, v) {
        (LabelType::Int, Value::Int(_))
        | (LabelType::Double, Value::Double(_))
        | (LabelType::Bool, Value::Bool(_))
        | (LabelType::Str, Value::Str(_)) => v.clone(),
        (LabelType::Double, Value::Int(i)) => Value::Double(*i as f64),
        (LabelType::Bool, Value::Int(i @ (0 | 1))) => Value::Bool(*i == 1),
        _ => {
            return Err(Error::Invalid(format!(
                "metadata row {}: {v:?} is not a valid value for label {label} ({t:?})",
                row + 1
            )))
        }
    })
}

/// Writes `md` to `path` atomically in Xmipp's exact text layout.
pub fn write_xmd(path: impl AsRef<Path>, md: &MetaData) -> Result<()> {
    write_atomic(path.as_ref(), xmd_text(md)?.as_bytes())
}
