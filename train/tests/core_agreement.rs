//! The trainer's inference-mode forward and the core's `misalign::net::forward` agree on the
//! same exported (f16) weights, so what was trained is what ships.
use misalign::net::topology::{tensor_offset, CUBE_LEN, PARAM_COUNT, TENSORS};
use misalign::net::weights::{encode, WeightFile};
use misalign::net::{logit, normalize_cube, Prepared, Scratch};
use misalign::rng::Rng;
use misalign_train::data::normalize;
use misalign_train::model::{init_params, Mode, Workspace};

#[test]
fn trainer_and_core_agree_on_exported_weights() {
    let mut r = Rng::new(31, 0);
    let mut p = init_params(5);
    for b in 0..4 {
        for k in 2..6 {
            let i = 6 * b + k;
            for v in &mut p[tensor_offset(i)..tensor_offset(i) + TENSORS[i].len] {
                *v = match k {
                    2 => 1.0 + 0.2 * r.normal() as f32,
                    5 => 0.3 + r.uniform() as f32,
                    _ => 0.3 * r.normal() as f32,
                };
            }
        }
    }
    let bytes = encode(&p, 1e-3).unwrap();
    let wf = WeightFile::parse(&bytes).unwrap();
    // The trainer runs on the values the file holds (f16-rounded), as the core does.
    let stored: Vec<f32> = (0..PARAM_COUNT).map(|k| wf.value(k).unwrap()).collect();
    let net = Prepared::boxed(&wf);
    let mut scratch = Scratch::boxed();
    let mut ws = Workspace::new(2);
    for _ in 0..3 {
        let raw: Vec<f32> = (0..CUBE_LEN)
            .map(|i| (r.normal() + (i % 97) as f64 * 0.01) as f32)
            .collect();
        let mut a = raw.clone();
        normalize(&mut a);
        let mut b: Box<[f32; CUBE_LEN]> = raw.into_boxed_slice().try_into().unwrap();
        normalize_cube(&mut b);
        assert_eq!(&a[..], &b[..], "same normalisation");
        let core = logit(&net, &b, &mut scratch);
        let ours = ws
            .run(&stored, wf.epsilon(), &[&a[..]], None, Mode::Infer)
            .logits[0];
        println!("core {core} trainer {ours}");
        assert!(
            (core - ours).abs() < 1e-4 * (1.0 + core.abs()),
            "{core} vs {ours}"
        );
    }
}
