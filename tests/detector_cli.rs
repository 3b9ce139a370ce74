//! `misalign peak` end to end: MRC in, .xmd/.csv out, Xmipp option spellings accepted.
use std::process::Command;

use misalign::host::coords::{read_coordinates, CoordContext};
use misalign::host::mrc::{write_volume, MrcMode};
use misalign::host::Volume;

fn bead_volume() -> (Volume, Vec<[f64; 3]>) {
    let dims = [128usize, 128, 48];
    let beads = vec![
        [30.0, 30.0, 24.0],
        [90.0, 34.0, 22.0],
        [40.0, 95.0, 25.0],
        [96.0, 90.0, 23.0],
    ];
    let mut s: u64 = 99;
    let mut data = vec![0.0f32; dims[0] * dims[1] * dims[2]];
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                // Uniform noise of SD 0.4.
                let mut v = 1.0 + 1.386 * ((s % 10_000) as f64 / 10_000.0 - 0.5);
                for b in &beads {
                    let r = ((x as f64 - b[0]).powi(2)
                        + (y as f64 - b[1]).powi(2)
                        + ((z as f64 - b[2]) / 1.4).powi(2))
                    .sqrt();
                    v -= 2.0 / (1.0 + ((r - 5.0) / 0.7).exp());
                }
                data[(z * dims[1] + y) * dims[0] + x] = v as f32;
            }
        }
    }
    (Volume::from_data(dims, [8.0; 3], data).unwrap(), beads)
}

#[test]
fn peak_writes_xmd_and_csv_with_xmipp_and_kebab_options() {
    let dir = std::env::temp_dir().join(format!("misalign-peak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (vol, beads) = bead_volume();
    let mrc = dir.join("tomo.mrc");
    write_volume(&mrc, &vol, MrcMode::Float32).unwrap();
    let exe = env!("CARGO_BIN_EXE_misalign");
    // Xmipp spellings; sampling from the header would give D = 100/8; pass it explicitly.
    let xmd = dir.join("out.xmd");
    let st = Command::new(exe)
        .args(["peak", "--vol"])
        .arg(&mrc)
        .arg("-o")
        .arg(&xmd)
        .args([
            "--samplingRate",
            "10",
            "--fiducialSize",
            "100",
            "--boxSize",
            "32",
            "--sdThr",
            "5",
            "--numberOfCoordinatesThr",
            "10",
            "--mirrorCorrelationThr",
            "0.1",
            "--mahalanobisDistanceThr",
            "2",
            "--relaxedModeThr",
            "3",
            "--numberSampSlices",
            "10",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let text = std::fs::read_to_string(&xmd).unwrap();
    assert!(
        text.starts_with("# XMIPP_STAR_1 * \n# \ndata_noname\nloop_\n _xcoor\n _ycoor\n _zcoor\n"),
        "{text}"
    );
    let got = read_coordinates(&xmd, &CoordContext::default()).unwrap();
    assert_eq!(got.len(), beads.len(), "{text}");
    for b in &beads {
        assert!(
            got.iter()
                .any(|g| (0..3).all(|a| (g[a] - b[a]).abs() <= 1.0)),
            "{b:?} not in {got:?}"
        );
    }
    // Kebab-case spellings, CSV output with real-valued coordinates.
    let csv = dir.join("out.csv");
    let st = Command::new(exe)
        .args(["peak", "--vol"])
        .arg(&mrc)
        .arg("-o")
        .arg(&csv)
        .args([
            "--sampling",
            "10",
            "--fiducial-size",
            "100",
            "--threads",
            "2",
            "-q",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let got = read_coordinates(&csv, &CoordContext::default()).unwrap();
    assert!(got.len() >= 3);
    // Bad input: a clear error and a failure code, never a panic.
    let st = Command::new(exe)
        .args(["peak", "--vol"])
        .arg(dir.join("missing.mrc"))
        .arg("-o")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(!st.status.success());
    assert!(String::from_utf8_lossy(&st.stderr).contains("misalign: error"));
    std::fs::remove_dir_all(&dir).unwrap();
}
