//! The weights baked into the library behave: freshly simulated aligned beads (a seed never
//! used in training) score high on average with the strong network, strongly misaligned ones low.
use misalign::net::topology::CUBE_LEN;
use misalign::net::{baked, logit, Prepared, Scratch};
use misalign::rng::Rng;
use misalign_train::data::{normalize, random_spec, smeared_centre, Class, Kind};
use misalign_train::layers::sigmoid;
use misalign_train::qsim::simulate;

fn score(net: &Prepared, scratch: &mut Scratch, mut cube: Vec<f32>) -> f64 {
    normalize(&mut cube);
    let arr: Box<[f32; CUBE_LEN]> = cube.into_boxed_slice().try_into().unwrap();
    sigmoid(logit(net, &arr, scratch) as f64)
}

#[test]
fn baked_strong_network_separates_aligned_from_strongly_misaligned() {
    let wf = baked::strong().expect("baked strong weights parse");
    let net = Prepared::boxed(&wf);
    let mut scratch = Scratch::boxed();
    let (mut aligned, mut strong) = (Vec::new(), Vec::new());
    for i in 0..12u64 {
        let mut rng = Rng::new(0xBA4ED, i);
        let spec = random_spec(Class::Aligned, Kind::None, &mut rng);
        aligned.push(score(&net, &mut scratch, simulate(&spec, &mut rng)));
        // The same kind of region with a large error: banana 150 Å, bird ±100 Å or jitter 80 Å
        // (per 100 Å bead), centred where a detector would find the smeared bead.
        let mut spec = random_spec(Class::Aligned, Kind::None, &mut rng);
        let scale = spec.bead_a / 100.0;
        let tmax = spec.tilts.iter().fold(0f64, |m, t| m.max(t.abs()));
        for (s, t) in spec.shifts.iter_mut().zip(spec.tilts.clone()) {
            match i % 3 {
                0 => s.0 += 150.0 * scale,
                1 => s.1 += 100.0 * scale * t / tmax,
                _ => {
                    s.0 += 80.0 * scale * rng.normal();
                    s.1 += 80.0 * scale * rng.normal();
                }
            }
        }
        let c = smeared_centre(&spec.tilts, &spec.shifts);
        spec.bead_offset_a = [-c[0], -c[1], -c[2]];
        strong.push(score(&net, &mut scratch, simulate(&spec, &mut rng)));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!("aligned {aligned:.3?}\nstrong {strong:.3?}");
    assert!(mean(&aligned) > 0.5, "aligned mean {}", mean(&aligned));
    assert!(mean(&strong) < 0.3, "strong mean {}", mean(&strong));
}
