//! `misalign info`: JSON output against independent f64 statistics; a bad file fails alone.
use std::process::Command;

use misalign::host::mrc::{write_volume, MrcMode};
use misalign::host::Volume;

#[test]
fn info_json_reports_dims_voxel_size_and_exact_stats() {
    let dir = std::env::temp_dir().join(format!("misalign-info-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dims = [10usize, 9, 8];
    let data: Vec<f32> = (0..720)
        .map(|i| ((i * 31 % 97) as f32 - 40.0) * 0.37)
        .collect();
    let vol = Volume::from_data(dims, [1.5, 2.0, 4.0], data.clone()).unwrap();
    let good = dir.join("good.mrc");
    write_volume(&good, &vol, MrcMode::Float32).unwrap();
    let bad = dir.join("bad.mrc");
    std::fs::write(&bad, b"not an mrc file").unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_misalign"))
        .args(["info", "--json"])
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a bad file must make the exit code non-zero"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.mrc"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "the good file is still reported: {stdout}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["nx"], 10);
    assert_eq!(v["ny"], 9);
    assert_eq!(v["nz"], 8);
    assert_eq!(v["mode"], 2);
    assert_eq!(v["voxel_size"], serde_json::json!([1.5, 2.0, 4.0]));
    let n = data.len() as f64;
    let mean = data.iter().map(|&x| x as f64).sum::<f64>() / n;
    let sd = (data.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    let min = data.iter().fold(f64::INFINITY, |a, &b| a.min(b as f64));
    let max = data.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
    let close = |key: &str, want: f64| {
        let got = v[key].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{key}: {got} vs {want}"
        );
    };
    close("min", min);
    close("max", max);
    close("mean", mean);
    close("sd", sd);

    let text = Command::new(env!("CARGO_BIN_EXE_misalign"))
        .arg("info")
        .arg(&good)
        .output()
        .unwrap();
    assert!(text.status.success());
    let t = String::from_utf8(text.stdout).unwrap();
    assert!(
        t.contains("10 x 9 x 8") && t.contains("float32") && t.contains("little"),
        "{t}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
