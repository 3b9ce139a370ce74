//! `misalign infer` end to end: the Keras golden cubes through the CLI, and its refusals.
use std::path::{Path, PathBuf};
use std::process::Command;

use misalign::host::mrc::{write_volume, MrcMode};
use misalign::host::Volume;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_misalign"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn parse_csv(text: &str) -> Vec<(usize, f64)> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("index,score"));
    lines
        .map(|l| {
            let (i, s) = l.split_once(',').unwrap();
            (i.parse().unwrap(), s.parse().unwrap())
        })
        .collect()
}

#[test]
fn golden_cubes_score_like_keras_through_the_cli() {
    for set in ["keras-golden", "keras2-golden"] {
        let dir = fixture(set);
        let out =
            std::env::temp_dir().join(format!("misalign-infer-{set}-{}.csv", std::process::id()));
        let status = bin()
            .args(["infer", "--no-normalize", "--threads", "2", "--weights"])
            .arg(dir.join("model.mlw"))
            .arg("--input")
            .arg(dir.join("cubes.mrc"))
            .arg("--output")
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        let got = parse_csv(&std::fs::read_to_string(&out).unwrap());
        let expected = std::fs::read_to_string(dir.join("expected.csv")).unwrap();
        let expected: Vec<f64> = expected
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert_eq!(got.len(), expected.len());
        for ((i, s), e) in got.iter().zip(&expected) {
            assert!((s - e).abs() < 1e-4, "{set} cube {i}: {s} vs Keras {e}");
        }
        std::fs::remove_file(out).unwrap();
    }
}

#[test]
fn a_stack_that_is_not_whole_cubes_is_refused() {
    let path = std::env::temp_dir().join(format!("misalign-infer-bad-{}.mrc", std::process::id()));
    let vol = Volume::zeros([32, 32, 40], [1.0; 3]).unwrap();
    write_volume(&path, &vol, MrcMode::Float32).unwrap();
    let out = bin()
        .args(["infer", "--weights"])
        .arg(fixture("keras-golden/model.mlw"))
        .arg("--input")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("32×32×40"), "{err}");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn corrupt_weights_are_refused_with_the_file_name() {
    let path = std::env::temp_dir().join(format!("misalign-infer-w-{}.mlw", std::process::id()));
    let mut bytes = std::fs::read(fixture("keras-golden/model.mlw")).unwrap();
    bytes[100] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let out = bin()
        .args(["infer", "--weights"])
        .arg(&path)
        .arg("--input")
        .arg(fixture("keras-golden/cubes.mrc"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&path.display().to_string()), "{err}");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn bench_reports_the_kernels_and_the_speed_and_refuses_zero_cubes() {
    let exe = env!("CARGO_BIN_EXE_misalign");
    let out = std::process::Command::new(exe)
        .args(["bench", "--cubes", "2", "--rounds", "1", "-j", "2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("kernels: "), "{text}");
    assert_eq!(text.matches("ms/cube").count(), 2, "{text}");
    assert!(text.contains("2 threads give"), "{text}");
    let bad = std::process::Command::new(exe)
        .args(["bench", "--cubes", "0"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--cubes and --rounds"));
}
