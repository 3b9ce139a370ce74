//! The CLI around the pipeline under hostile conditions (issue #11): resume that cannot lie,
//! output folders that are never shared, `--watch` on files still being written, closed pipes
//! and full disks, worker panics, FIFOs, absurd option values, links and stale temporaries,
//! byte-order marks and unwritable output folders. Every run has a timeout, so a regression
//! that blocks (a FIFO opened for reading) fails instead of hanging the suite.
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use misalign::host::mrc::{write_volume, MrcMode};
use misalign::host::Volume;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("misalign-robust-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// A small noise tomogram (no beads: checked in well under a second, verdict undetermined).
fn tomogram(path: &Path, seed: u64) {
    let dims = [64, 64, 32];
    let vol = Volume::from_data(dims, [10.0; 3], common::noise(64 * 64 * 32, seed)).unwrap();
    write_volume(path, &vol, MrcMode::Float32).unwrap();
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_misalign"));
    c.env_remove("MISALIGN_TEST_PANIC_ON");
    c
}

/// What a finished run left.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Both streams, for messages that may go to either.
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Not killed by a panic (rc 101) or a signal.
    fn clean(&self) -> bool {
        self.status.code().is_some_and(|c| c != 101) && !self.stderr.contains("panicked")
    }
}

/// Waits for `child` at most `secs` seconds; kills it and fails the test on timeout.
fn wait(mut child: Child, secs: u64, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {secs} s (blocked?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the binary with `args` (streams captured through files, so nothing blocks on a full
/// pipe), at most `secs` seconds.
fn run_in(dir: &Path, args: &[&str], secs: u64) -> Run {
    run_cmd(dir, bin().args(args), secs)
}

fn run_cmd(dir: &Path, cmd: &mut Command, secs: u64) -> Run {
    let (o, e) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let child = cmd
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&o).unwrap())
        .stderr(fs::File::create(&e).unwrap())
        .spawn()
        .unwrap();
    let status = wait(child, secs, &format!("{cmd:?}"));
    Run {
        status,
        stdout: fs::read_to_string(&o).unwrap(),
        stderr: fs::read_to_string(&e).unwrap(),
    }
}

fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(ok.success(), "mkfifo {}", path.display());
}

#[test]
fn resume_only_for_the_same_tomogram_settings_and_file() {
    let d = temp_dir("resume");
    tomogram(&d.join("a.mrc"), 1);
    tomogram(&d.join("b.mrc"), 2);
    let check = |extra: &[&str]| {
        let args = [&["check", "--no-html", "-j", "2", "-o", "out"][..], extra].concat();
        run_in(&d, &args, 120)
    };
    let r = check(&["a.mrc"]);
    assert!(r.status.success(), "{}", r.all());
    let r = check(&["a.mrc"]);
    assert!(r.all().contains("already done"), "{}", r.all());

    // Another tomogram into the same folder: recomputed, and said why.
    let r = check(&["b.mrc"]);
    assert!(r.status.success(), "{}", r.all());
    assert!(!r.all().contains("already done"), "{}", r.all());
    assert!(
        r.all().contains("recomputing: the previous report is for "),
        "{}",
        r.all()
    );
    assert!(report(&d.join("out"))["tomogram"]
        .as_str()
        .unwrap()
        .ends_with("b.mrc"));

    let r = check(&["b.mrc", "--fiducial-size", "120"]);
    assert!(
        r.all().contains("bead_diameter_a 100.0 → 120.0"),
        "{}",
        r.all()
    );
    assert_eq!(report(&d.join("out"))["bead_diameter_a"], 120.0);
    let r = check(&["b.mrc", "--fiducial-size", "120", "--threshold", "0.6"]);
    assert!(r.all().contains("threshold 0.45 → 0.6"), "{}", r.all());
    let r = check(&["b.mrc", "--fiducial-size", "120", "--threshold", "0.6"]);
    assert!(r.all().contains("already done"), "{}", r.all());

    // The tomogram is gone: nothing to resume from, the check fails and says so.
    fs::remove_file(d.join("b.mrc")).unwrap();
    let r = check(&["b.mrc", "--fiducial-size", "120", "--threshold", "0.6"]);
    assert!(!r.status.success(), "{}", r.all());
    assert!(!r.all().contains("already done"), "{}", r.all());
    assert!(r.all().contains("b.mrc"), "{}", r.all());
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn inputs_sharing_a_stem_get_their_own_folders_at_any_thread_count() {
    let d = temp_dir("stems");
    for sub in ["d1", "d2"] {
        fs::create_dir_all(d.join(sub)).unwrap();
    }
    tomogram(&d.join("d1/t.mrc"), 3);
    tomogram(&d.join("d2/t.mrc"), 4);
    for j in ["1", "2"] {
        let out = format!("out{j}");
        let args = [
            "check",
            "--no-html",
            "-j",
            j,
            "-o",
            &out,
            "d1/t.mrc",
            "d2/t.mrc",
        ];
        let r = run_in(&d, &args, 120);
        assert!(r.status.success(), "-j {j}: {}", r.all());
        assert!(!r.all().contains("already done"), "-j {j}: {}", r.all());
        for sub in ["d1", "d2"] {
            let rep = report(&d.join(&out).join(format!("{sub}_t")));
            let tomo = rep["tomogram"].as_str().unwrap().to_string();
            assert!(tomo.ends_with(&format!("{sub}/t.mrc")), "-j {j}: {tomo}");
        }
    }
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn watch_checks_a_file_again_once_it_is_complete() {
    let d = temp_dir("watch");
    let incoming = d.join("incoming");
    fs::create_dir_all(&incoming).unwrap();
    tomogram(&d.join("whole.mrc"), 5);
    let bytes = fs::read(d.join("whole.mrc")).unwrap();
    let child = bin()
        .args([
            "check",
            "--no-html",
            "-j",
            "2",
            "-o",
            "out",
            "--poll",
            "0.1",
        ])
        .args(["--idle-exit", "20", "--watch", "incoming"])
        .current_dir(&d)
        .stdin(Stdio::null())
        .stdout(fs::File::create(d.join("stdout.txt")).unwrap())
        .stderr(fs::File::create(d.join("stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    // The first half, a pause of many poll intervals (it is tried, and fails as truncated),
    // then the rest, as a slow writer would.
    let half = bytes.len() / 2;
    fs::write(incoming.join("t.mrc"), &bytes[..half]).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    use std::io::Write;
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(incoming.join("t.mrc"))
        .unwrap();
    f.write_all(&bytes[half..]).unwrap();
    drop(f);
    let rep = d.join("out/t/report.json");
    let start = Instant::now();
    while !rep.is_file() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
    let out = fs::read_to_string(d.join("stdout.txt")).unwrap();
    assert!(
        rep.is_file(),
        "no report for the completed file; stdout:\n{out}"
    );
    assert!(out.contains("truncated"), "the half file was tried: {out}");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn watch_refuses_tomograms_coords_and_watch_options_without_it() {
    let d = temp_dir("watchopts");
    fs::create_dir_all(d.join("w")).unwrap();
    tomogram(&d.join("a.mrc"), 6);
    fs::write(d.join("c.csv"), "x,y,z\n1,2,3\n").unwrap();
    for (args, want) in [
        (
            &["check", "a.mrc", "--watch", "w"][..],
            "cannot be used with",
        ),
        (
            &["check", "--watch", "w", "--coords", "c.csv"][..],
            "cannot be used with",
        ),
        (&["check", "a.mrc", "--poll", "1"][..], "--watch"),
        (&["check", "a.mrc", "--idle-exit", "1"][..], "--watch"),
    ] {
        let r = run_in(&d, args, 30);
        assert!(!r.status.success() && r.clean(), "{args:?}: {}", r.all());
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
    }
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn closed_pipes_and_full_disks_end_quietly() {
    let d = temp_dir("pipes");
    for (i, n) in ["a", "b", "c"].iter().enumerate() {
        tomogram(&d.join(format!("{n}.mrc")), 10 + i as u64);
    }
    // `| head -0`: the reader is gone before the first line. The batch still finishes.
    let mut child = bin()
        .args([
            "check",
            "--no-html",
            "-j",
            "2",
            "-o",
            "out",
            "a.mrc",
            "b.mrc",
            "c.mrc",
        ])
        .current_dir(&d)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(fs::File::create(d.join("stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = wait(child, 120, "check | closed pipe");
    let err = fs::read_to_string(d.join("stderr.txt")).unwrap();
    assert!(status.success(), "{status:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in ["a", "b", "c"] {
        assert!(d.join("out").join(n).join("report.json").is_file(), "{n}");
    }

    let mut child = bin()
        .args(["info", "--json", "a.mrc"])
        .current_dir(&d)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert!(wait(child, 30, "info --json | closed").success());

    if Path::new("/dev/full").exists() {
        let full = || {
            fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap()
        };
        let child = bin()
            .args(["info", "a.mrc"])
            .current_dir(&d)
            .stdout(full())
            .stderr(fs::File::create(d.join("stderr.txt")).unwrap())
            .spawn()
            .unwrap();
        let status = wait(child, 30, "info > /dev/full");
        let err = fs::read_to_string(d.join("stderr.txt")).unwrap();
        assert_eq!(status.code(), Some(1), "{err}");
        assert!(err.contains("writing to standard output"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        // 2>/dev/full: the error has nowhere to go, and still no panic.
        let child = bin()
            .args(["check", "-o", "out2", "missing.mrc"])
            .current_dir(&d)
            .stdout(Stdio::null())
            .stderr(full())
            .spawn()
            .unwrap();
        assert_eq!(wait(child, 30, "2>/dev/full").code(), Some(1));
    }
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_panicking_worker_fails_only_its_tomogram() {
    let d = temp_dir("panic");
    for (i, n) in ["a", "b", "c"].iter().enumerate() {
        tomogram(&d.join(format!("{n}.mrc")), 20 + i as u64);
    }
    let args = [
        "check",
        "--no-html",
        "-j",
        "2",
        "-o",
        "out",
        "a.mrc",
        "b.mrc",
        "c.mrc",
    ];
    let r = run_cmd(&d, bin().args(args).env("MISALIGN_TEST_PANIC_ON", "b"), 120);
    assert_eq!(r.status.code(), Some(1), "{}", r.all());
    assert!(
        r.stdout
            .contains("b.mrc: ERROR: internal error (a bug in misalign"),
        "{}",
        r.all()
    );
    assert!(
        r.stdout.contains("asked for a panic on b.mrc"),
        "{}",
        r.all()
    );
    assert!(r.stderr.contains("1 of 3 tomograms failed"), "{}", r.all());
    for n in ["a", "c"] {
        assert!(d.join("out").join(n).join("report.json").is_file(), "{n}");
    }
    assert!(!d.join("out/b/report.json").exists());
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn fifos_are_refused_before_they_are_opened() {
    let d = temp_dir("fifo");
    tomogram(&d.join("a.mrc"), 30);
    fs::create_dir_all(d.join("w")).unwrap();
    for f in ["x.mrc", "w.mlw", "c.csv", "l.txt", "w/y.mrc"] {
        mkfifo(&d.join(f));
    }
    let cases: [&[&str]; 5] = [
        &["check", "--no-html", "-o", "o1", "a.mrc", "x.mrc"],
        &[
            "check",
            "-o",
            "o2",
            "a.mrc",
            "--weights-strong",
            "w.mlw",
            "--weights-weak",
            "w.mlw",
        ],
        &[
            "check",
            "--no-html",
            "-o",
            "o3",
            "a.mrc",
            "--coords",
            "c.csv",
        ],
        &["check", "--no-html", "-o", "o4", "l.txt"],
        &[
            "check",
            "--no-html",
            "-o",
            "o5",
            "--watch",
            "w",
            "--poll",
            "0.1",
            "--idle-exit",
            "2",
        ],
    ];
    for args in cases {
        let r = run_in(&d, args, 60);
        assert!(r.clean(), "{args:?}: {}", r.all());
        assert!(
            r.all()
                .contains("is a FIFO (named pipe), not a regular file"),
            "{args:?}: {}",
            r.all()
        );
    }
    // The regular tomogram of the batch is still checked.
    assert!(d.join("o1/a/report.json").is_file());
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn absurd_durations_and_sizes_are_refused_up_front() {
    let d = temp_dir("values");
    fs::create_dir_all(d.join("w")).unwrap();
    for v in ["NaN", "-1", "inf", "1e300"] {
        for opt in ["--poll", "--idle-exit"] {
            let r = run_in(&d, &["check", "--watch", "w", opt, v], 30);
            assert_eq!(r.status.code(), Some(2), "{opt} {v}: {}", r.all());
            assert!(r.stderr.contains("seconds"), "{opt} {v}: {}", r.stderr);
        }
    }
    let r = run_in(&d, &["bench", "--cubes", "1000000000"], 30);
    assert!(!r.status.success() && r.clean(), "{}", r.all());
    assert!(r.stderr.contains("at most 4096"), "{}", r.stderr);
    let r = run_in(&d, &["simulate", "-o", "j.mrc", "--jitter", "1e30"], 30);
    assert!(!r.status.success() && r.clean(), "{}", r.all());
    assert!(r.stderr.contains("--jitter"), "{}", r.stderr);
    let r = run_in(
        &d,
        &["simulate", "-o", "big.mrc", "--dims", "4096,4096,4096"],
        30,
    );
    assert!(!r.status.success() && r.clean(), "{}", r.all());
    assert!(
        r.stderr.contains("256.0 GiB") && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    assert!(!d.join("big.mrc").exists());
    fs::remove_dir_all(&d).unwrap();
}

#[cfg(unix)]
#[test]
fn outputs_through_links_stay_links_and_stale_temporaries_go() {
    let d = temp_dir("links");
    fs::create_dir_all(d.join("real")).unwrap();
    std::os::unix::fs::symlink("real/t.mrc", d.join("link.mrc")).unwrap();
    let args = [
        "simulate", "-o", "link.mrc", "--dims", "32,32,16", "--beads", "1",
    ];
    let r = run_in(&d, &args, 120);
    assert!(r.status.success(), "{}", r.all());
    assert!(fs::symlink_metadata(d.join("link.mrc"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(d.join("real/t.mrc").is_file());

    // A killed run left a temporary (its pid is no process).
    tomogram(&d.join("a.mrc"), 40);
    fs::create_dir_all(d.join("out")).unwrap();
    let stale = d.join("out/.report.json.4294967.tmp");
    fs::write(&stale, b"{").unwrap();
    let r = run_in(&d, &["check", "--no-html", "-o", "out", "a.mrc"], 120);
    assert!(r.status.success(), "{}", r.all());
    assert!(!stale.exists());
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bom_inputs_read_and_unwritable_output_is_found_first() {
    let d = temp_dir("bom");
    tomogram(&d.join("a.mrc"), 50);
    fs::write(d.join("c.csv"), "\u{feff}x,y,z\n32,32,16\n").unwrap();
    let r = run_in(
        &d,
        &[
            "check",
            "--no-html",
            "-o",
            "o1",
            "a.mrc",
            "--coords",
            "c.csv",
        ],
        120,
    );
    assert!(r.status.success(), "{}", r.all());
    assert_eq!(report(&d.join("o1"))["coords_source"], "c.csv");
    fs::write(d.join("l.txt"), "\u{feff}a.mrc\n").unwrap();
    let r = run_in(&d, &["check", "--no-html", "-o", "o2", "l.txt"], 120);
    assert!(r.status.success(), "{}", r.all());

    // The output folder cannot exist (a file is in the way): said before any tomogram is
    // opened (this one does not even exist).
    fs::write(d.join("file"), b"").unwrap();
    let r = run_in(&d, &["check", "-o", "file/out", "missing.mrc"], 30);
    assert!(!r.status.success() && r.clean(), "{}", r.all());
    assert!(
        r.stderr
            .contains("the output folder file/out is not writable"),
        "{}",
        r.stderr
    );
    assert!(!r.all().contains("missing.mrc"), "{}", r.all());
    fs::remove_dir_all(&d).unwrap();
}
