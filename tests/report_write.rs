//! Report folders: every file parses back with independent readers.
use std::fs;
use std::path::{Path, PathBuf};

use misalign::decide::{decide, Criterion};
use misalign::host::check::{BeadResult, TomogramResult};
use misalign::host::report::{write_report_dir, Pictures};
use misalign::net::topology::CUBE_LEN;
use serde_json::Value;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("misalign-report-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn report(strong: &[f32], weak: Option<&[f32]>, threshold: Option<f32>) -> TomogramResult {
    let beads = strong
        .iter()
        .enumerate()
        .map(|(i, &s)| BeadResult {
            input_index: 2 * i + 1,
            position: [10.25 + i as f64, 20.5, 30.0 + 0.125 * i as f64],
            strong: s,
            weak: weak.map(|w| w[i]),
        })
        .collect();
    TomogramResult {
        tomogram: PathBuf::from("/data/tomo <1> & \"x\".mrc"),
        dims: [128, 96, 40],
        sampling_a: 13.7,
        bead_diameter_a: 100.0,
        cube_sampling_a: 5.99375,
        coords_source: "detector".into(),
        criterion: Criterion::Mean,
        threshold,
        decision: decide(strong, weak, Criterion::Mean, threshold),
        beads,
        n_skipped: 3,
        weights: ["strong.mlw (ours)".into(), "weak.mlw (ours)".into()],
        version: "0.1.0-test".into(),
        elapsed_s: 1.5,
        warnings: Vec::new(),
    }
}

/// Independent base64 decoder (standard alphabet, padding required).
fn b64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a') as u32 + 26,
            b'0'..=b'9' => (c - b'0') as u32 + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("bad base64 char {c}"),
        }
    };
    assert_eq!(s.len() % 4, 0);
    let mut out = Vec::new();
    for q in s.as_bytes().chunks(4) {
        let pad = q.iter().filter(|&&c| c == b'=').count();
        let mut n = 0u32;
        for &c in q {
            n = n << 6 | if c == b'=' { 0 } else { val(c) };
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    out
}

/// All `data:image/png;base64,` URIs of a page, decoded.
fn pngs(html: &str) -> Vec<Vec<u8>> {
    let key = "data:image/png;base64,";
    html.match_indices(key)
        .map(|(i, _)| {
            let rest = &html[i + key.len()..];
            let end = rest.find('"').expect("unterminated data URI");
            b64_decode(&rest[..end])
        })
        .collect()
}

fn csv_rows(dir: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(dir.join("beads.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("index,x,y,z,strong,weak"));
    lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Minimal STAR loop reader: labels after `loop_`, then whitespace-separated rows.
fn star_rows(dir: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = fs::read_to_string(dir.join("beads.star")).unwrap();
    let (mut labels, mut rows, mut in_loop) = (Vec::new(), Vec::new(), false);
    for l in text.lines().map(str::trim) {
        if l.is_empty() || l.starts_with('#') || l.starts_with("data_") {
            continue;
        }
        if l == "loop_" {
            in_loop = true;
        } else if let Some(lab) = l.strip_prefix('_') {
            assert!(in_loop);
            labels.push(lab.split_whitespace().next().unwrap().to_string());
        } else {
            rows.push(l.split_whitespace().map(str::to_string).collect());
        }
    }
    (labels, rows)
}

#[test]
fn full_report_parses_back() {
    let n = 60;
    let strong: Vec<f32> = (0..n).map(|i| 0.4 + 0.6 * i as f32 / n as f32).collect();
    let weak: Vec<f32> = (0..n).map(|i| (i % 10) as f32 / 10.0).collect();
    let r = report(&strong, Some(&weak), Some(0.45));
    let slice: Vec<f32> = (0..128 * 96).map(|i| (i % 37) as f32).collect();
    let cubes: Vec<f32> = (0..n * CUBE_LEN).map(|i| (i % 101) as f32).collect();
    let pics = Pictures {
        central_slice: &slice,
        slice_dims: [128, 96],
        slice_z: 20,
        cubes: &cubes,
    };
    let dir = temp_dir("full");
    write_report_dir(&dir, &r, Some(&pics)).unwrap();

    let j: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    // strong mean 0.695 > 0.5 passes; weak mean 0.45 is not > 0.45: weak.
    assert_eq!(j["verdict"], "weak");
    assert_eq!(j["xmipp_class"], 2);
    assert!((j["strong_mean"].as_f64().unwrap() - 0.695).abs() < 1e-4);
    assert!((j["weak_mean"].as_f64().unwrap() - 0.45).abs() < 1e-4);
    assert_eq!(j["n_beads"], 60);
    assert_eq!(j["n_skipped"], 3);
    let want_votes = strong.iter().filter(|&&s| s > 0.5).count();
    assert_eq!(j["strong_votes"].as_u64().unwrap() as usize, want_votes);
    assert_eq!(j["weak_votes"], 24); // 0.6 … 0.9 in each run of ten
    assert_eq!(j["criterion"], "mean");
    assert!((j["threshold"].as_f64().unwrap() - 0.45).abs() < 1e-6);
    assert_eq!(j["version"], "0.1.0-test");
    assert_eq!(j["dims"], serde_json::json!([128, 96, 40]));
    assert_eq!(j["weights"]["weak"], "weak.mlw (ours)");
    assert_eq!(j["beads"].as_array().unwrap().len(), 60);
    assert_eq!(j["beads"][3]["index"], 7);
    assert_eq!(j["beads"][3]["x"], 13.25);

    let rows = csv_rows(&dir);
    assert_eq!(rows.len(), 60);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), 6);
        assert_eq!(row[0].parse::<usize>().unwrap(), 2 * i + 1);
        assert_eq!(row[1].parse::<f64>().unwrap(), 10.25 + i as f64);
        assert_eq!(row[3].parse::<f64>().unwrap(), 30.0 + 0.125 * i as f64);
        assert_eq!(row[4].parse::<f32>().unwrap(), strong[i]);
        assert_eq!(row[5].parse::<f32>().unwrap(), weak[i]);
    }

    let (labels, rows) = star_rows(&dir);
    assert_eq!(
        labels,
        [
            "rlnCoordinateX",
            "rlnCoordinateY",
            "rlnCoordinateZ",
            "misalignInputIndex",
            "misalignStrongScore",
            "misalignWeakScore"
        ]
    );
    assert_eq!(rows.len(), 60);
    assert_eq!(rows[5][0].parse::<f64>().unwrap(), 15.25);
    assert_eq!(rows[5][3], "11");
    assert!((rows[5][4].parse::<f32>().unwrap() - strong[5]).abs() < 1e-6);
    assert!((rows[5][5].parse::<f32>().unwrap() - weak[5]).abs() < 1e-6);

    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("WEAKLY MISALIGNED") && html.contains("data-verdict=\"weak\""));
    // The file name is escaped, never raw.
    assert!(html.contains("tomo &lt;1&gt; &amp; &quot;x&quot;.mrc"));
    assert!(!html.contains("<1>"));
    // One map picture and 48 thumbnails (24 lowest + 24 highest), 12 omitted.
    let pictures = pngs(&html);
    assert_eq!(pictures.len(), 1 + 48);
    for p in &pictures {
        assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
    }
    assert!(html.contains("12 omitted"));
    assert_eq!(html.matches("<circle").count(), 60);
    assert_eq!(html.matches("<svg class=\"hist\"").count(), 2);
    // No temporaries left behind.
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["beads.csv", "beads.star", "report.html", "report.json"]
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn strong_failure_has_no_weak_numbers() {
    let r = report(&[0.1, 0.2, 0.7], None, Some(0.45));
    let dir = temp_dir("strong");
    write_report_dir(&dir, &r, None).unwrap();
    let j: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(j["verdict"], "strong");
    assert!(j["weak_mean"].is_null() && j["weak_votes"].is_null());
    assert_eq!(j["strong_votes"], 1);
    let rows = csv_rows(&dir);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r[5].is_empty()));
    let (_, rows) = star_rows(&dir);
    assert!(rows.iter().all(|r| r[5] == "-1.000000"));
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("STRONGLY MISALIGNED") && html.contains("not run"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn undetermined_report_without_beads_writes_every_file() {
    let r = report(&[], None, None);
    let slice = vec![1.0f32; 40 * 30];
    let pics = Pictures {
        central_slice: &slice,
        slice_dims: [40, 30],
        slice_z: 5,
        cubes: &[],
    };
    let dir = temp_dir("empty");
    write_report_dir(&dir, &r, Some(&pics)).unwrap();
    let j: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(j["verdict"], "undetermined");
    assert_eq!(j["n_beads"], 0);
    assert!(j["strong_mean"].is_null() && j["weak_mean"].is_null());
    assert!(csv_rows(&dir).is_empty());
    assert!(star_rows(&dir).1.is_empty());
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("UNDETERMINED"));
    assert_eq!(pngs(&html).len(), 1);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_rewrite_never_leaves_a_stale_report_json() {
    let r = report(&[0.9, 0.8], Some(&[0.7, 0.9]), Some(0.45));
    let dir = temp_dir("stale");
    write_report_dir(&dir, &r, None).unwrap();
    assert!(dir.join("report.json").exists());
    // Make beads.csv impossible to replace: a non-empty directory in its place.
    fs::remove_file(dir.join("beads.csv")).unwrap();
    fs::create_dir_all(dir.join("beads.csv").join("x")).unwrap();
    assert!(write_report_dir(&dir, &r, None).is_err());
    assert!(!dir.join("report.json").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mismatched_pictures_are_rejected_before_writing() {
    let r = report(&[0.9, 0.8], Some(&[0.7, 0.9]), Some(0.45));
    let slice = vec![0.0f32; 10];
    let cubes = vec![0.0f32; CUBE_LEN];
    let dir = temp_dir("bad");
    let bad_slice = Pictures {
        central_slice: &slice,
        slice_dims: [4, 4],
        slice_z: 0,
        cubes: &cubes,
    };
    assert!(write_report_dir(&dir, &r, Some(&bad_slice)).is_err());
    let bad_cubes = Pictures {
        slice_dims: [5, 2],
        ..bad_slice
    };
    assert!(write_report_dir(&dir, &r, Some(&bad_cubes)).is_err());
    assert!(!dir.exists());
}

#[test]
fn central_slice_is_the_middle_one() {
    use misalign::host::report::read_central_slice;
    use misalign::host::Volume;
    let data: Vec<f32> = (0..4 * 3 * 5).map(|i| i as f32).collect();
    let v = Volume::from_data([4, 3, 5], [1.0; 3], data).unwrap();
    let (s, dims, z) = read_central_slice(&v).unwrap();
    assert_eq!((dims, z), ([4, 3], 2));
    assert_eq!(s, v.slice(2));
}

#[test]
fn json_numbers_are_short_and_nan_is_null() {
    let mut r = report(&[0.9, 0.7], Some(&[0.8, 0.6]), Some(0.45));
    r.beads[1].strong = f32::NAN;
    let dir = temp_dir("nan");
    write_report_dir(&dir, &r, None).unwrap();
    let text = fs::read_to_string(dir.join("report.json")).unwrap();
    let j: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["beads"][0]["strong"].as_f64(), Some(0.9));
    assert!(j["beads"][1]["strong"].is_null());
    assert_eq!(j["sampling_a"].as_f64(), Some(13.7));
    assert!(!text.contains("0.8999999"));
    fs::remove_dir_all(&dir).unwrap();
}
