//! Per-bead tables: `beads.csv` and a RELION-style `beads.star`.
use std::fmt::Write;

use crate::host::check::TomogramResult;

/// `index,x,y,z,strong,weak`, one row per bead; `weak` empty when not run. Numbers use Rust's
/// shortest round-trip formatting.
pub fn beads_csv(r: &TomogramResult) -> String {
    let mut s = String::from("index,x,y,z,strong,weak\n");
    for b in &r.beads {
        let weak = b.weak.map(|w| w.to_string()).unwrap_or_default();
        let [x, y, z] = b.position;
        let _ = writeln!(s, "{},{x},{y},{z},{},{weak}", b.input_index, b.strong);
    }
    s
}

/// A STAR file with one `loop_` of `_rlnCoordinateX/Y/Z` (tomogram voxels),
/// `_misalignInputIndex`, `_misalignStrongScore` and `_misalignWeakScore` (−1 when the weak
/// network was not run, as in Xmipp's statistics files).
pub fn beads_star(r: &TomogramResult) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# misalign {}: per-bead scores (1 = aligned); coordinates in voxels of {}",
        r.version,
        r.tomogram.display().to_string().replace(['\n', '\r'], " ")
    );
    s.push_str("# _misalignWeakScore is -1 where the weak network was not run\n\n");
    s.push_str("data_beads\n\nloop_\n");
    let labels = [
        "_rlnCoordinateX",
        "_rlnCoordinateY",
        "_rlnCoordinateZ",
        "_misalignInputIndex",
        "_misalignStrongScore",
        "_misalignWeakScore",
    ];
    for (i, l) in labels.iter().enumerate() {
        let _ = writeln!(s, "{l} #{}", i + 1);
    }
    for b in &r.beads {
        let [x, y, z] = b.position;
        let _ = writeln!(
            s,
            "{x:.3} {y:.3} {z:.3} {} {:.6} {:.6}",
            b.input_index,
            b.strong,
            b.weak.unwrap_or(-1.0)
        );
    }
    s.push('\n');
    s
}
