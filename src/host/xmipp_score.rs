//! Drop-in for Xmipp's `xmipp_deep_misalignment_detection`: scores the cubes the Xmipp extractor
//! wrote next to a coordinate file and writes the two statistics files Scipion reads
//! (spec: subtomo-extraction.md §7, xmipp-formats.md §5.4–5.5).
use std::path::{Path, PathBuf};

use crate::decide::{Criterion, Decision, Verdict};
use crate::host::check::validate_weak_threshold;
use crate::host::coords::xmd::{write_xmd, MetaData, Value};
use crate::host::extract::standardize_together;
use crate::host::mrc::read_volume;
use crate::host::networks::{Classification, Networks};
use crate::host::{Error, Result};
use crate::net::topology::{CUBE_LEN, EDGE};

/// Per-cube statistics file written next to the coordinate file.
pub const SUBTOMO_STATS: &str = "misalignmentSubtomoStatistics.xmd";
/// Per-tomogram statistics file written next to the coordinate file.
pub const TOMO_STATS: &str = "misalignmentTomoStatistics.xmd";

/// What the drop-in computed, for the caller's one-line summary.
#[derive(Debug)]
pub struct XmippScore {
    pub cube_files: Vec<PathBuf>,
    pub strong: Vec<f32>,
    pub weak: Option<Vec<f32>>,
    pub decision: Decision,
    /// The `max` of the tomogram file: 1 strong, 2 weak, 3 aligned (0 undetermined: no cube).
    pub class_code: f64,
    /// The `min` of the tomogram file: strong mean if class 1, else weak mean (−1 with no cube).
    pub average: f64,
}

/// The cubes `<dir>/<base>-1.mrc`, `-2.mrc`, … next to `coords`, up to the first missing number,
/// as the original script finds them.
pub fn cube_files(coords: &Path) -> Vec<PathBuf> {
    let (dir, base) = cube_stem(coords);
    (1..)
        .map(|n| dir.join(format!("{base}-{n}.mrc")))
        .take_while(|p| p.is_file())
        .collect()
}

fn cube_stem(coords: &Path) -> (&Path, String) {
    let dir = coords.parent().unwrap_or(Path::new(""));
    let base = coords
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, base)
}

/// Fails when cubes numbered past the first gap exist: the original silently scores only the
/// cubes before the gap (cubes 1–2 of 7 when `-3.mrc` is missing).
fn check_no_gap(coords: &Path, found: usize) -> Result<()> {
    let (dir, base) = cube_stem(coords);
    let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) else {
        return Ok(());
    };
    let prefix = format!("{base}-");
    let beyond: Vec<usize> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix(&prefix)?
                .strip_suffix(".mrc")?
                .parse::<usize>()
                .ok()
        })
        .filter(|&n| n > found + 1)
        .collect();
    match beyond.iter().max() {
        None => Ok(()),
        Some(last) => Err(Error::Invalid(format!(
            "{} is missing but {} more cubes up to {base}-{last}.mrc exist next to {}: the \
             extraction is incomplete; re-run it (or remove the stale cubes)",
            dir.join(format!("{base}-{}.mrc", found + 1)).display(),
            beyond.len(),
            coords.display()
        ))),
    }
}

/// Scores the pre-extracted cubes of `coords` and writes the two statistics files beside it.
///
/// As the original: cubes are standardised together (one mean and population SD over all of
/// them), the strong network decides by mean or votes, the weak one by its mean against
/// `threshold`. Deliberate differences: without a threshold the class is still 3 (aligned) or 2
/// (weak) — decided by `criterion` at 0.5 — instead of the original 1.0/0.0 that Scipion reads as
/// "strong"; and no cube at all writes class 0 with average −1 instead of crashing.
pub fn score_xmipp(
    coords: &Path,
    nets: &Networks,
    threshold: Option<f32>,
    criterion: Criterion,
    threads: usize,
) -> Result<XmippScore> {
    if !coords.is_file() {
        return Err(Error::Invalid(format!(
            "coordinate file {} does not exist",
            coords.display()
        )));
    }
    validate_weak_threshold(threshold)?;
    let files = cube_files(coords);
    check_no_gap(coords, files.len())?;
    let mut cubes = Vec::with_capacity(files.len() * CUBE_LEN);
    for f in &files {
        let v = read_volume(f)?;
        if v.dims != [EDGE; 3] {
            return Err(Error::Invalid(format!(
                "{} is {}×{}×{}, the networks take {EDGE}³ cubes",
                f.display(),
                v.dims[0],
                v.dims[1],
                v.dims[2]
            )));
        }
        if v.data.iter().any(|x| !x.is_finite()) {
            return Err(Error::Invalid(format!(
                "{} contains NaN or infinite voxels; re-extract it",
                f.display()
            )));
        }
        cubes.extend_from_slice(&v.data);
    }
    standardize_together(&mut cubes);

    let Classification {
        decision,
        strong,
        weak,
    } = nets.classify(&cubes, criterion, threshold, threads, || Ok(()))?;
    let class_code = decision.verdict.xmipp_class() as f64;
    let average = match decision.verdict {
        Verdict::Undetermined => -1.0,
        Verdict::Strong => decision.strong.map_or(-1.0, |s| s.mean as f64),
        _ => decision.weak.map_or(-1.0, |s| s.mean as f64),
    };

    let dir = coords.parent().unwrap_or(Path::new(""));
    let mut per_cube = MetaData::with_labels(&["max", "min"]);
    for (i, s) in strong.iter().enumerate() {
        let w = weak.as_ref().map_or(-1.0, |w| w[i] as f64);
        per_cube.push(vec![Value::Double(*s as f64), Value::Double(w)])?;
    }
    let mut per_tomo = MetaData::with_labels(&["max", "min"]);
    per_tomo.push(vec![Value::Double(class_code), Value::Double(average)])?;
    write_xmd(dir.join(SUBTOMO_STATS), &per_cube)?;
    write_xmd(dir.join(TOMO_STATS), &per_tomo)?;
    Ok(XmippScore {
        cube_files: files,
        strong,
        weak,
        decision,
        class_code,
        average,
    })
}
