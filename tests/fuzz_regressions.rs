//! Inputs the fuzz targets (fuzz/) found to crash or misbehave, each fed through the same public
//! entry point and required to give a clean error or a valid result — never a panic. The inputs
//! live in tests/fixtures/fuzz/; fuzz/README.md says how to add one.
use std::path::PathBuf;

use misalign::host::coords::{read_coordinates_as, CoordContext, CoordFormat};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(name)
}

/// `star` target: a finite centred-Å value over a tiny (but positive, finite) sampling
/// overflowed to an infinite voxel position, which the reader returned as a coordinate.
#[test]
fn star_centred_angst_overflow_is_an_error() {
    let ctx = CoordContext {
        dims: Some([100, 100, 50]),
        sampling: Some(1e-300),
        tomo_name: None,
    };
    let path = fixture("star-centred-overflow.star");
    let e = read_coordinates_as(&path, CoordFormat::Star, &ctx)
        .expect_err("an infinite voxel position must be refused");
    assert!(e.to_string().contains("row 1"), "{e}");
    // The same file at an ordinary sampling is fine and finite.
    let ok = CoordContext {
        sampling: Some(10.0),
        ..ctx
    };
    let p = read_coordinates_as(&path, CoordFormat::Star, &ok).expect("ordinary sampling");
    assert!(p.iter().flatten().all(|v| v.is_finite()), "{p:?}");
}

/// `analyze` target: given bead positions far outside i64 cells overflowed the duplicate
/// search's cell index (a panic in debug builds); they must be a clean error naming the row.
#[test]
fn absurd_given_positions_are_an_error_not_an_overflow() {
    use misalign::host::check::{analyze, CheckParams};
    use misalign::host::networks::Networks;
    use misalign::host::{Acquisition, Volume};
    let vol = Volume::from_data([16; 3], [10.0; 3], vec![1.0; 16 * 16 * 16]).unwrap();
    let acq = Acquisition::new(10.0, 100.0).unwrap();
    let nets = Networks::baked().unwrap();
    let given = [[1e300, 8.0, 8.0], [9.2e18, 8.0, 8.0], [8.0, 8.0, 8.0]];
    let r = analyze(
        &vol,
        &acq,
        Some(&given),
        &CheckParams::default(),
        &nets,
        None,
    );
    assert!(r.is_err(), "{r:?}");
}
