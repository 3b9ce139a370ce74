//! Tomogram-level calibration in the spirit of the paper's section 3.1: simulate whole
//! "tomograms" (several beads sharing one acquisition and one alignment error), score every
//! bead with a network, and count how often the mean score flags the tomogram (≤ 0.5).
use misalign::net::topology::CUBE_LEN;
use misalign::net::{logit, Prepared, Scratch};

use crate::data::{add_twister, normalize, random_spec, smeared_centre, Class, Kind};
use crate::layers::sigmoid;
use crate::qsim::simulate;
use misalign::rng::{derive, Rng};

/// One tested condition: an error kind and its magnitude (Å, or degrees for twisters), in
/// absolute units for the drawn bead (not scaled with it).
#[derive(Clone, Copy, Debug)]
pub struct Condition {
    pub kind: Kind,
    pub magnitude: f64,
}

/// The conditions of the calibration goal and the paper's Table 2.
pub const CONDITIONS: [Condition; 8] = [
    Condition {
        kind: Kind::None,
        magnitude: 0.0,
    },
    Condition {
        kind: Kind::Banana,
        magnitude: 40.0,
    },
    Condition {
        kind: Kind::Banana,
        magnitude: 79.0,
    },
    Condition {
        kind: Kind::Twister,
        magnitude: 1.0,
    },
    Condition {
        kind: Kind::Twister,
        magnitude: 2.0,
    },
    Condition {
        kind: Kind::Bird,
        magnitude: 15.0,
    },
    Condition {
        kind: Kind::Bird,
        magnitude: 27.0,
    },
    Condition {
        kind: Kind::Jitter,
        magnitude: 40.0,
    },
];

/// Scores of the beads of one simulated tomogram with `cond`.
pub fn tomogram_scores(
    net: &Prepared,
    scratch: &mut Scratch,
    cond: Condition,
    seed: u64,
    beads: usize,
) -> Vec<f64> {
    let mut rng = Rng::new(seed, 0);
    // The acquisition and the residual alignment error are shared by every bead.
    let base = random_spec(Class::Aligned, Kind::None, &mut rng);
    let mut shared = base.shifts.clone();
    let tmax = base.tilts.iter().fold(0f64, |m, t| m.max(t.abs()));
    let sign = rng.sign();
    match cond.kind {
        Kind::Banana => shared.iter_mut().for_each(|s| s.0 += sign * cond.magnitude),
        Kind::Bird => shared
            .iter_mut()
            .zip(&base.tilts)
            .for_each(|(s, t)| s.1 += sign * cond.magnitude * t / tmax),
        Kind::Jitter => shared.iter_mut().for_each(|s| {
            s.0 += cond.magnitude * rng.normal();
            s.1 += cond.magnitude * rng.normal();
        }),
        _ => {}
    }
    (0..beads)
        .map(|b| {
            let mut r = Rng::new(seed, b as u64 + 1);
            let mut spec = random_spec(Class::Aligned, Kind::None, &mut r);
            spec.bead_a = base.bead_a;
            spec.tomo_px_a = base.tomo_px_a;
            spec.tilts = base.tilts.clone();
            spec.shifts = shared.clone();
            if cond.kind == Kind::Twister {
                // Beads anywhere in a field of 10,000 Å diameter, uniformly by area.
                let rad = 5000.0 * r.uniform().sqrt();
                let phi = r.range(0.0, std::f64::consts::TAU);
                let field = [rad * phi.cos(), rad * phi.sin(), r.range(-800.0, 800.0)];
                add_twister(sign * cond.magnitude, field, &spec.tilts, &mut spec.shifts);
            }
            let c = smeared_centre(&spec.tilts, &spec.shifts);
            let err = |r: &mut Rng| r.range(-2.0, 2.0) * spec.tomo_px_a;
            spec.bead_offset_a = [err(&mut r) - c[0], err(&mut r) - c[1], err(&mut r) - c[2]];
            let mut cube = simulate(&spec, &mut r);
            normalize(&mut cube);
            let arr: Box<[f32; CUBE_LEN]> = cube.into_boxed_slice().try_into().expect("32³");
            sigmoid(logit(net, &arr, scratch) as f64)
        })
        .collect()
}

/// For each condition: (condition, fraction of tomograms flagged misaligned, mean score).
pub fn calibrate(
    net: &Prepared,
    seed: u64,
    tomograms: usize,
    beads: usize,
    threads: usize,
) -> Vec<(Condition, f64, f64)> {
    CONDITIONS
        .iter()
        .map(|&cond| {
            let per = tomograms.div_ceil(threads.max(1)).max(1);
            let means: Vec<f64> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..tomograms)
                    .collect::<Vec<_>>()
                    .chunks(per)
                    .map(|ts| {
                        let ts = ts.to_vec();
                        s.spawn(move || {
                            let mut scratch = Scratch::boxed();
                            ts.iter()
                                .map(|&t| {
                                    let sc = tomogram_scores(
                                        net,
                                        &mut scratch,
                                        cond,
                                        derive(&[
                                            seed,
                                            cond.kind as u64,
                                            cond.magnitude.to_bits(),
                                            t as u64,
                                        ]),
                                        beads,
                                    );
                                    sc.iter().sum::<f64>() / sc.len() as f64
                                })
                                .collect::<Vec<f64>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("calibration thread"))
                    .collect()
            });
            let flagged =
                means.iter().filter(|&&m| m <= 0.5).count() as f64 / means.len().max(1) as f64;
            let mean = means.iter().sum::<f64>() / means.len().max(1) as f64;
            (cond, flagged, mean)
        })
        .collect()
}
