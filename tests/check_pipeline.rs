//! End to end on simulated tomograms with the built-in weights: the verdicts a user relies on,
//! the report folder, batch resume and the Xmipp drop-in.
#![cfg(feature = "sim")]
use std::path::{Path, PathBuf};
use std::process::Command;

use misalign::decide::{Criterion, Verdict};
use misalign::host::batch::{run_batch, BatchOptions, ItemResult};
use misalign::host::check::{analyze, check_tomogram, CheckParams};
use misalign::host::coords::xmd::{read_xmd, write_xmd, MetaData, Value};
use misalign::host::extract::{extract, BoxRule, ExtractParams, Normalization};
use misalign::host::mrc::{write_volume, MrcMode};
use misalign::host::networks::Networks;
use misalign::host::xmipp_score::{score_xmipp, SUBTOMO_STATS, TOMO_STATS};
use misalign::host::Volume;
use misalign::host::{Acquisition, AcquisitionInput};
use misalign::sim::{simulate_tomogram, Misalignment, TomogramParams};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("misalign-check-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn params(seed: u64, misalignment: Misalignment, n_beads: usize) -> TomogramParams {
    TomogramParams {
        dims: [256, 256, 96],
        sampling_a: 10.0,
        bead_diameter_a: 100.0,
        n_beads,
        misalignment,
        seed,
        ..TomogramParams::default()
    }
}

fn simulate(seed: u64, m: Misalignment, n_beads: usize) -> Volume {
    simulate_tomogram(&params(seed, m, n_beads), 2).unwrap().0
}

fn banana(a: f32) -> Misalignment {
    Misalignment {
        banana_a: a,
        ..Misalignment::default()
    }
}

fn check_params() -> CheckParams {
    CheckParams {
        threads: 2,
        html: false,
        ..CheckParams::default()
    }
}

/// The simulated tomograms: 10 nm gold at 10 Å/voxel.
const ACQ: Acquisition = Acquisition {
    sampling_a: 10.0,
    bead_diameter_a: 100.0,
};

#[test]
fn aligned_tomogram_is_aligned() {
    let nets = Networks::baked().unwrap();
    let vol = simulate(101, Misalignment::default(), 16);
    let a = analyze(&vol, &ACQ, None, &check_params(), &nets, None).unwrap();
    assert!(
        a.beads.len() >= 5,
        "detector found only {} beads",
        a.beads.len()
    );
    assert_eq!(a.decision.verdict, Verdict::Aligned, "{:?}", a.decision);

    // Progress: detection finely, then the stage marks, up to 1; the same verdict.
    let seen = std::cell::RefCell::new(Vec::new());
    let log = |f: f32| {
        seen.borrow_mut().push(f);
        true
    };
    let b = analyze(&vol, &ACQ, None, &check_params(), &nets, Some(&log)).unwrap();
    assert_eq!(b.decision.verdict, a.decision.verdict);
    let seen = seen.into_inner();
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(seen.iter().filter(|&&f| f <= 0.8).count() > 10, "{seen:?}");
    assert_eq!(&seen[seen.len() - 3..], &[0.85, 0.9, 1.0]);
    // Cancelling after extraction (or at the very end) gives Cancelled, not a verdict.
    for at in [0.85, 1.0] {
        let stop = |f: f32| f < at;
        match analyze(&vol, &ACQ, None, &check_params(), &nets, Some(&stop)) {
            Err(misalign::host::Error::Cancelled) => {}
            other => panic!("cancel at {at}: expected Cancelled, got {other:?}"),
        }
    }
}

#[test]
fn strongly_misaligned_tomogram_is_strong() {
    let nets = Networks::baked().unwrap();
    let vol = simulate(202, banana(200.0), 16);
    let a = analyze(&vol, &ACQ, None, &check_params(), &nets, None).unwrap();
    assert!(!a.beads.is_empty());
    assert_eq!(a.decision.verdict, Verdict::Strong, "{:?}", a.decision);
}

#[test]
fn tomogram_without_beads_is_undetermined_and_still_reported() {
    let dir = temp_dir("nobeads");
    let vol = simulate(303, Misalignment::default(), 0);
    let path = dir.join("empty.mrc");
    write_volume(&path, &vol, MrcMode::Float32).unwrap();
    let nets = Networks::baked().unwrap();
    let out = dir.join("out");
    let params = CheckParams {
        html: true,
        ..check_params()
    };
    let o = check_tomogram(&path, &AcquisitionInput::default(), &params, &nets, &out).unwrap();
    assert_eq!(o.decision.verdict, Verdict::Undetermined);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["verdict"], "undetermined");
    assert_eq!(json["n_beads"], 0);
    assert!(out.join("report.html").is_file());
    assert!(out.join("beads.csv").is_file());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn batch_resume_skips_complete_reports() {
    let dir = temp_dir("resume");
    let mut paths = Vec::new();
    for (i, m) in [Misalignment::default(), banana(150.0)]
        .into_iter()
        .enumerate()
    {
        let p = dir.join(format!("t{i}.mrc"));
        write_volume(&p, &simulate(400 + i as u64, m, 10), MrcMode::Float32).unwrap();
        paths.push(p);
    }
    let nets = Networks::baked().unwrap();
    let out = dir.join("out");
    let quiet = |_: usize, _: usize, _: &ItemResult| {};
    let mut opts = BatchOptions {
        out: &out,
        force: false,
        threads: 2,
        always_subdirs: false,
        on_item: &quiet,
    };
    let first = run_batch(
        &paths,
        &AcquisitionInput::default(),
        &check_params(),
        &nets,
        &opts,
    );
    assert!(
        first.iter().all(|r| matches!(r, ItemResult::Done(_))),
        "{first:?}"
    );
    assert!(out.join("t0/report.json").is_file() && out.join("t1/report.json").is_file());
    // Simulate an interrupted run: one folder lost its report.json.
    std::fs::remove_file(out.join("t1/report.json")).unwrap();
    let second = run_batch(
        &paths,
        &AcquisitionInput::default(),
        &check_params(),
        &nets,
        &opts,
    );
    assert!(
        matches!(second[0], ItemResult::AlreadyDone(_)),
        "{second:?}"
    );
    assert!(matches!(second[1], ItemResult::Done(_)), "{second:?}");
    opts.force = true;
    let third = run_batch(
        &paths,
        &AcquisitionInput::default(),
        &check_params(),
        &nets,
        &opts,
    );
    assert!(third.iter().all(|r| matches!(r, ItemResult::Done(_))));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Writes what Xmipp's extractor would: `<base>-n.mrc` cubes next to `<base>.xmd`.
fn write_xmipp_cubes(dir: &Path, vol: &Volume, positions: &[[f64; 3]]) -> PathBuf {
    let mut p = ExtractParams::new(Acquisition {
        sampling_a: 10.0,
        bead_diameter_a: 100.0,
    });
    p.normalization = Normalization::Xmipp;
    p.box_rule = BoxRule::XmippV1;
    let ex = extract(vol, positions, &p).unwrap();
    let mut md = MetaData::with_labels(&["xcoor", "ycoor", "zcoor"]);
    for (i, b) in ex.beads.iter().enumerate() {
        let cube = Volume::from_data([32; 3], [6.25; 3], ex.cube(i).to_vec()).unwrap();
        write_volume(
            dir.join(format!("subtomo_coords-{}.mrc", i + 1)),
            &cube,
            MrcMode::Float32,
        )
        .unwrap();
        md.push(b.position.iter().map(|&c| Value::Int(c as i64)).collect())
            .unwrap();
    }
    let coords = dir.join("subtomo_coords.xmd");
    write_xmd(&coords, &md).unwrap();
    coords
}

#[test]
fn xmipp_drop_in_writes_both_statistics_files() {
    let dir = temp_dir("xmipp");
    let (vol, truth) = simulate_tomogram(&params(505, Misalignment::default(), 12), 2).unwrap();
    let positions: Vec<[f64; 3]> = truth
        .beads
        .iter()
        .filter(|b| b.inside)
        .map(|b| b.centre)
        .collect();
    let coords = write_xmipp_cubes(&dir, &vol, &positions);
    let nets = Networks::baked().unwrap();
    let r = score_xmipp(&coords, &nets, Some(0.45), Criterion::Mean, 2).unwrap();
    assert!(!r.cube_files.is_empty());

    let per_cube = read_xmd(dir.join(SUBTOMO_STATS)).unwrap();
    assert_eq!(per_cube.rows.len(), r.cube_files.len());
    for (i, s) in r.strong.iter().enumerate() {
        let max = per_cube.get(i, "max").unwrap().as_f64().unwrap();
        assert!((max - *s as f64).abs() < 1e-6);
        let min = per_cube.get(i, "min").unwrap().as_f64().unwrap();
        match &r.weak {
            Some(w) => assert!((min - w[i] as f64).abs() < 1e-6),
            None => assert_eq!(min, -1.0),
        }
    }
    let per_tomo = read_xmd(dir.join(TOMO_STATS)).unwrap();
    assert_eq!(per_tomo.rows.len(), 1);
    let class = per_tomo.get(0, "max").unwrap().as_f64().unwrap();
    assert_eq!(class, r.decision.verdict.xmipp_class() as f64);
    assert!([1.0, 2.0, 3.0].contains(&class));
    let text = std::fs::read_to_string(dir.join(TOMO_STATS)).unwrap();
    assert!(text.starts_with("# XMIPP_STAR_1 * \n# \ndata_noname\nloop_\n _max\n _min\n"));

    // The same through the CLI, with the original option names (and -g accepted).
    let out = Command::new(env!("CARGO_BIN_EXE_misalign"))
        .args([
            "score",
            "-g",
            "0",
            "--misaliThr",
            "0.45",
            "--subtomoFilePath",
        ])
        .arg(&coords)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A gap in the numbering (cube 3 of 7 gone) is an error naming the missing file, not a
    // silent score of cubes 1–2.
    assert!(r.cube_files.len() >= 7, "{} cubes", r.cube_files.len());
    let gap = dir.join("subtomo_coords-3.mrc");
    std::fs::remove_file(&gap).unwrap();
    let e = score_xmipp(&coords, &nets, Some(0.45), Criterion::Mean, 2).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("subtomo_coords-3.mrc is missing"), "{msg}");
    // A cube with a NaN is named by its file.
    let cube4 = dir.join("subtomo_coords-4.mrc");
    std::fs::rename(&cube4, &gap).unwrap();
    let zeros = Volume::from_data([32; 3], [6.25; 3], vec![0.0; 32 * 32 * 32]).unwrap();
    write_volume(&cube4, &zeros, MrcMode::Float32).unwrap();
    // Our writer refuses NaN: patch one voxel of the data block (after the 1024-byte header).
    let mut bytes = std::fs::read(&cube4).unwrap();
    bytes[1024 + 20..1024 + 24].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&cube4, bytes).unwrap();
    let e = score_xmipp(&coords, &nets, Some(0.45), Criterion::Mean, 2).unwrap_err();
    assert!(e.to_string().contains("subtomo_coords-4.mrc"), "{e}");
    assert!(score_xmipp(&coords, &nets, Some(1.5), Criterion::Mean, 2).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn check_cli_prints_a_verdict_and_fails_on_a_bad_file() {
    let dir = temp_dir("cli");
    let path = dir.join("tomo.mrc");
    write_volume(
        &path,
        &simulate(606, Misalignment::default(), 10),
        MrcMode::Float32,
    )
    .unwrap();
    let bad = dir.join("bad.mrc");
    std::fs::write(&bad, b"not an MRC file").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_misalign"))
        .args(["check", "-q", "--threads", "2", "--out"])
        .arg(dir.join("out"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("tomo.mrc:"), "{stdout}");
    assert!(dir.join("out/report.html").is_file());

    let out = Command::new(env!("CARGO_BIN_EXE_misalign"))
        .args(["check", "-q", "--out"])
        .arg(dir.join("out2"))
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("bad.mrc"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn watch_mode_checks_tomograms_that_appear() {
    use misalign::host::batch::{watch, WatchOptions};
    use std::time::Duration;
    let dir = temp_dir("watch");
    let incoming = dir.join("incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    let vol = simulate(707, Misalignment::default(), 8);
    // Written atomically by our writer, as an acquisition pipeline would (temp + rename).
    write_volume(incoming.join("ts_07.mrc"), &vol, MrcMode::Float32).unwrap();
    std::fs::write(incoming.join("notes.txt"), "not a tomogram").unwrap();
    let nets = Networks::baked().unwrap();
    let out = dir.join("out");
    let quiet = |_: usize, _: usize, _: &ItemResult| {};
    let opts = BatchOptions {
        out: &out,
        force: false,
        threads: 2,
        always_subdirs: true,
        on_item: &quiet,
    };
    let w = WatchOptions {
        poll: Duration::from_millis(100),
        idle_exit: Some(Duration::from_millis(800)),
    };
    let results = watch(
        &incoming,
        &AcquisitionInput::default(),
        &check_params(),
        &nets,
        &opts,
        &w,
    )
    .unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(out.join("ts_07/report.json").is_file());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn inverted_contrast_is_analysed_the_right_way_round_with_a_warning() {
    let nets = Networks::baked().unwrap();
    let vol = simulate(101, Misalignment::default(), 16);
    let want = analyze(&vol, &ACQ, None, &check_params(), &nets, None).unwrap();
    assert_eq!(want.decision.verdict, Verdict::Aligned);
    assert!(want.warnings.is_empty(), "{:?}", want.warnings);
    let inverted = Volume {
        data: vol.data.iter().map(|v| -v).collect(),
        ..vol.clone()
    };
    let a = analyze(&inverted, &ACQ, None, &check_params(), &nets, None).unwrap();
    assert_eq!(a.decision.verdict, Verdict::Aligned, "{:?}", a.decision);
    assert_eq!(a.beads, want.beads);
    assert!(
        a.warnings.iter().any(|w| w.contains("inverted")),
        "{:?}",
        a.warnings
    );
    // With the alignment's bead positions instead of the detector: the same.
    let positions: Vec<[f64; 3]> = want.beads.iter().map(|b| b.position).collect();
    let b = analyze(
        &inverted,
        &ACQ,
        Some(&positions),
        &check_params(),
        &nets,
        None,
    )
    .unwrap();
    assert_eq!(b.decision.verdict, Verdict::Aligned, "{:?}", b.decision);
    assert!(
        b.warnings.iter().any(|w| w.contains("inverted")),
        "{:?}",
        b.warnings
    );
}

#[test]
fn repeated_bead_positions_count_once() {
    let nets = Networks::baked().unwrap();
    let vol = simulate(101, Misalignment::default(), 16);
    let found = analyze(&vol, &ACQ, None, &check_params(), &nets, None).unwrap();
    let one = found.beads[0].position;
    let mut positions = vec![one; 50];
    positions.push(found.beads[1].position);
    // A near-copy (0.3 voxel away) is the same bead too.
    positions.push([one[0] + 0.3, one[1], one[2]]);
    let a = analyze(&vol, &ACQ, Some(&positions), &check_params(), &nets, None).unwrap();
    assert_eq!(a.beads.len(), 2, "{:?}", a.beads);
    assert_eq!(a.beads[0].input_index, 0);
    assert_eq!(
        a.beads[1].input_index, 50,
        "input rows survive deduplication"
    );
    assert_eq!(a.duplicates.len(), 50);
    assert!(
        a.warnings.iter().any(|w| w.contains("50 of 52")),
        "{:?}",
        a.warnings
    );
}

#[test]
fn thresholds_outside_zero_one_are_refused() {
    let nets = Networks::baked().unwrap();
    let vol = simulate(101, Misalignment::default(), 4);
    for t in [-1.0, 2.0, f32::NAN] {
        let p = CheckParams {
            threshold: Some(t),
            ..check_params()
        };
        let e = analyze(&vol, &ACQ, None, &p, &nets, None).unwrap_err();
        assert!(e.to_string().contains("between 0 and 1"), "{t}: {e}");
    }
}

#[test]
fn many_beads_are_scored_in_bounded_batches_with_the_same_scores() {
    use misalign::host::check::SCORE_BATCH;
    let nets = Networks::baked().unwrap();
    let vol = simulate(101, Misalignment::default(), 16);
    // More positions than one batch, on a grid 6 voxels apart (no two are duplicates).
    let mut positions = Vec::new();
    'fill: for z in (20..76).step_by(6) {
        for y in (20..236).step_by(6) {
            for x in (20..236).step_by(6) {
                positions.push([x as f64, y as f64, z as f64]);
                if positions.len() == SCORE_BATCH + 40 {
                    break 'fill;
                }
            }
        }
    }
    assert_eq!(positions.len(), SCORE_BATCH + 40);
    let all = analyze(&vol, &ACQ, Some(&positions), &check_params(), &nets, None).unwrap();
    assert_eq!(all.beads.len(), positions.len());
    assert!(all.cubes.is_empty(), "cubes are not kept beyond one batch");
    // The beads of the second batch score as they do on their own.
    let tail = &positions[SCORE_BATCH..];
    let alone = analyze(&vol, &ACQ, Some(tail), &check_params(), &nets, None).unwrap();
    for (a, b) in all.beads[SCORE_BATCH..].iter().zip(&alone.beads) {
        assert_eq!(a.input_index, b.input_index + SCORE_BATCH);
        assert_eq!(a.strong, b.strong);
    }
}
