//! Threaded batch scoring: order, thread-count independence and input errors.
use misalign::host::infer::score_cubes;
use misalign::net::forward::{normalize_cube, score, Prepared, Scratch};
use misalign::net::topology::{CUBE_LEN, PARAM_COUNT};
use misalign::net::weights::{encode, WeightFile};

fn net() -> Box<Prepared> {
    let p: Vec<f32> = (0..PARAM_COUNT)
        .map(|k| (((k * 2_654_435_761) % 1001) as f32 - 500.0) / 8192.0)
        .collect();
    // Keep moving variances positive: overwrite with |v| + 0.25 where the topology says "var".
    let mut p = p;
    for t in 0..misalign::net::topology::TENSOR_COUNT {
        let spec = misalign::net::topology::TENSORS[t];
        if spec.name.ends_with(".var") {
            let o = misalign::net::topology::tensor_offset(t);
            for v in &mut p[o..o + spec.len] {
                *v = v.abs() + 0.25;
            }
        }
    }
    Prepared::boxed(&WeightFile::parse(&encode(&p, 1e-3).unwrap()).unwrap())
}

fn cubes(n: usize) -> Vec<f32> {
    (0..n * CUBE_LEN)
        .map(|k| (((k * 7919) % 2003) as f32 / 1000.0 - 1.0) * (1.0 + (k / CUBE_LEN) as f32))
        .collect()
}

#[test]
fn order_and_values_do_not_depend_on_thread_count() {
    let net = net();
    let c = cubes(5);
    let one = score_cubes(&net, &c, true, 1).unwrap();
    assert_eq!(one.len(), 5);
    for t in [2, 3, 8] {
        assert_eq!(score_cubes(&net, &c, true, t).unwrap(), one, "{t} threads");
    }
    // Each output is the single-cube score of the matching input.
    let mut scratch = Scratch::boxed();
    for (i, &s) in one.iter().enumerate() {
        let mut cube: Box<[f32; CUBE_LEN]> = c[i * CUBE_LEN..(i + 1) * CUBE_LEN]
            .to_vec()
            .into_boxed_slice()
            .try_into()
            .unwrap();
        normalize_cube(&mut cube);
        assert_eq!(score(&net, &cube, &mut scratch), s);
    }
    // Without normalisation the (scaled) cubes give different scores.
    assert_ne!(score_cubes(&net, &c, false, 2).unwrap(), one);
    assert!(score_cubes(&net, &[], false, 2).unwrap().is_empty());
}

#[test]
fn bad_input_is_an_error() {
    let net = net();
    let mut c = cubes(2);
    assert!(score_cubes(&net, &c[1..], false, 1).is_err());
    // 0 threads is every core (the library's one rule), not an error: same scores as one.
    assert_eq!(
        score_cubes(&net, &c, false, 0).unwrap(),
        score_cubes(&net, &c, false, 1).unwrap()
    );
    c[CUBE_LEN + 3] = f32::NAN;
    let e = score_cubes(&net, &c, false, 2).unwrap_err();
    assert!(e.to_string().contains("cube 1"), "{e}");
    // Also through normalisation, on one thread.
    c[5] = f32::INFINITY;
    let e = score_cubes(&net, &c, true, 1).unwrap_err();
    assert!(
        e.to_string()
            .contains("cube 0 contains a NaN or infinite voxel"),
        "{e}"
    );
}
