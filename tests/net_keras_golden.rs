//! Keras oracles: the converted fixtures must reproduce Keras's own scores (tests/fixtures).
use misalign::net::forward::{logit, sigmoid, Prepared, Scratch};
use misalign::net::topology::CUBE_LEN;
use misalign::net::weights::WeightFile;

fn fixture(dir: &str, file: &str) -> Vec<u8> {
    let p = format!("{}/tests/fixtures/{dir}/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// The raw float32 voxels of a little-endian mode-2 MRC (1024-byte header, no extended header).
fn mrc_floats(bytes: &[u8]) -> Vec<f32> {
    let word = |i: usize| i32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap());
    let (nx, ny, nz, mode, next) = (word(0), word(1), word(2), word(3), word(23));
    assert_eq!((nx, ny, nz, mode), (32, 32, 512, 2), "fixture shape/mode");
    let start = 1024 + next as usize;
    let data = &bytes[start..];
    assert_eq!(data.len(), 32 * 32 * 512 * 4);
    data.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn expected(dir: &str) -> Vec<(f64, f64)> {
    let text = String::from_utf8(fixture(dir, "expected.csv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f[0].parse::<usize>().unwrap(), i);
            (f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect()
}

fn max_abs_error(dir: &str) -> f64 {
    let bytes = fixture(dir, "model.mlw");
    let wf = WeightFile::parse(&bytes).expect("fixture parses");
    assert_eq!(wf.param_count(), misalign::net::topology::PARAM_COUNT);
    let net = Prepared::boxed(&wf);
    let mut scratch = Scratch::boxed();
    let voxels = mrc_floats(&fixture(dir, "cubes.mrc"));
    let want = expected(dir);
    assert_eq!(want.len(), 16);
    let mut worst = 0.0f64;
    for (i, (score, _logit)) in want.iter().enumerate() {
        let cube: &[f32; CUBE_LEN] = voxels[i * CUBE_LEN..(i + 1) * CUBE_LEN].try_into().unwrap();
        // The fixture cubes are already normalised: feed them as they are.
        let got = sigmoid(logit(&net, cube, &mut scratch)) as f64;
        let err = (got - score).abs();
        assert!(err <= 1e-4, "{dir} cube {i}: ours {got}, Keras {score}");
        worst = worst.max(err);
    }
    eprintln!("{dir}: max |score − Keras| = {worst:.3e}");
    worst
}

#[test]
fn keras3_golden_scores_match() {
    max_abs_error("keras-golden");
}

#[test]
fn keras2_golden_scores_match() {
    max_abs_error("keras2-golden");
}

#[test]
fn rust_encoder_writes_the_same_bytes_as_the_python_converter() {
    for dir in ["keras-golden", "keras2-golden"] {
        let bytes = fixture(dir, "model.mlw");
        let wf = WeightFile::parse(&bytes).unwrap();
        let values: Vec<f32> = (0..misalign::net::topology::PARAM_COUNT)
            .map(|k| wf.value(k).unwrap())
            .collect();
        let again = misalign::net::weights::encode(&values, wf.epsilon()).unwrap();
        assert!(
            again == bytes,
            "{dir}: Rust encoder output differs from the converter's"
        );
    }
}
