//! `misalign simulate` end to end: MRC readable by the crate's reader, truth JSON consistent.
#![cfg(feature = "sim")]
use std::process::Command;

#[test]
fn simulate_writes_mrc_truth_and_pictures() {
    let dir = std::env::temp_dir().join(format!("misalign-sim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mrc, json, png) = (dir.join("t.mrc"), dir.join("t.json"), dir.join("png"));
    let out = Command::new(env!("CARGO_BIN_EXE_misalign"))
        .args(["simulate", "-o"])
        .arg(&mrc)
        .arg("--truth")
        .arg(&json)
        .arg("--png-dir")
        .arg(&png)
        .args([
            "--dims",
            "64,48,24",
            "--sampling",
            "20",
            "--beads",
            "3",
            "--tilt",
            "-45,45,5",
        ])
        .args(["--bird", "-10", "--seed", "4", "--threads", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vol = misalign::host::mrc::read_volume(&mrc).unwrap();
    assert_eq!(vol.dims, [64, 48, 24]);
    assert_eq!(vol.voxel_size, [20.0; 3]);
    let t: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(t["label"], "weak");
    assert_eq!(t["kinds"][0], "bird");
    let beads = t["beads"].as_array().unwrap();
    assert!(beads.iter().filter(|b| b["inside"] == true).count() >= 3);
    // Every bead inside is darker than the volume's typical voxel.
    let sd =
        (vol.data.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / vol.data.len() as f64).sqrt();
    for b in beads.iter().filter(|b| b["inside"] == true) {
        let c = ["x", "y", "z"].map(|k| b[k].as_f64().unwrap().round() as usize);
        let c = [c[0].min(63), c[1].min(47), c[2].min(23)];
        let mut m = f32::MAX;
        for dz in 0..3 {
            for dy in 0..3 {
                for dx in 0..3 {
                    let (x, y, z) = (
                        (c[0] + dx).saturating_sub(1).min(63),
                        (c[1] + dy).saturating_sub(1).min(47),
                        (c[2] + dz).saturating_sub(1).min(23),
                    );
                    m = m.min(vol.get(x, y, z));
                }
            }
        }
        assert!((m as f64) < -sd, "bead at {c:?}: {m} vs sd {sd}");
    }
    assert!(png.join("bead0_crop_xz.png").exists());
    // Bad options fail with a message, not a panic.
    let bad = Command::new(env!("CARGO_BIN_EXE_misalign"))
        .args(["simulate", "-o"])
        .arg(dir.join("x.mrc"))
        .args(["--tilt", "10,-10,2"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("tilt"));
    std::fs::remove_dir_all(&dir).unwrap();
}
