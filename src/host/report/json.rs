//! `report.json`: the machine-readable summary (serde_json `Value`s; non-finite numbers become
//! `null`).
use serde_json::{json, Value};

use crate::host::check::TomogramResult;

/// An f32 as the f64 with the same shortest decimal form (0.9f32 → 0.9, not 0.8999999761…);
/// non-finite values stay non-finite and become `null`.
fn short(x: f32) -> f64 {
    if x.is_finite() {
        x.to_string().parse().unwrap_or(x as f64)
    } else {
        f64::NAN
    }
}

/// The report as pretty-printed JSON. Keys: `verdict` ("aligned" | "weak" | "strong" |
/// "undetermined"), `xmipp_class`, `strong_mean`, `weak_mean` (null when not run),
/// `strong_vote_fraction`, `weak_vote_fraction`, `n_beads`, `n_skipped`, `strong_votes`,
/// `weak_votes` (null when not run), `criterion`, `threshold`, `tomogram`, `dims`,
/// `sampling_a`, `bead_diameter_a`, `cube_sampling_a`, `coords_source`, `weights`
/// (`strong`, `weak`), `version`, `elapsed_s`, `beads` (`index`, `x`, `y`, `z`, `strong`,
/// `weak`).
pub fn report_json(r: &TomogramResult) -> String {
    let d = &r.decision;
    let beads: Vec<Value> = r
        .beads
        .iter()
        .map(|b| {
            json!({
                "index": b.input_index,
                "x": b.position[0],
                "y": b.position[1],
                "z": b.position[2],
                "strong": short(b.strong),
                "weak": b.weak.map(short),
            })
        })
        .collect();
    let v = json!({
        "verdict": d.verdict.as_str(),
        "xmipp_class": d.verdict.xmipp_class(),
        "strong_mean": d.strong.map(|s| short(s.mean)),
        "weak_mean": d.weak.map(|s| short(s.mean)),
        "strong_vote_fraction": d.strong.map(|s| short(s.vote_fraction)),
        "weak_vote_fraction": d.weak.map(|s| short(s.vote_fraction)),
        "n_beads": r.beads.len(),
        "n_skipped": r.n_skipped,
        "strong_votes": d.strong.map_or(0, |s| s.votes),
        "weak_votes": d.weak.map(|s| s.votes),
        "criterion": r.criterion.as_str(),
        "threshold": r.threshold.map(short),
        "tomogram": r.tomogram.to_string_lossy(),
        "dims": r.dims,
        "sampling_a": short(r.sampling_a),
        "bead_diameter_a": short(r.bead_diameter_a),
        "cube_sampling_a": short(r.cube_sampling_a),
        "coords_source": r.coords_source,
        "warnings": r.warnings,
        "weights": { "strong": r.weights[0], "weak": r.weights[1] },
        "version": r.version,
        "elapsed_s": r.elapsed_s,
        "beads": beads,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string());
    s.push('\n');
    s
}
