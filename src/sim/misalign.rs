//! Acquisition order and the per-image misalignment it implies.
use super::params::{Misalignment, TiltScheme};
use super::project::ImageGeom;
use super::rng::Rng;

/// Rank of each tilt (angles in increasing order) in the acquisition sequence.
///
/// Both schemes start at the tilt nearest 0°. Dose-symmetric then alternates +, −, +, − (taking
/// whichever side still has tilts once one runs out); bidirectional goes up to the maximum, then
/// from just below the start down to the minimum.
pub fn acquisition_rank(angles: &[f32], scheme: &TiltScheme) -> Vec<usize> {
    let n = angles.len();
    if n == 0 {
        return Vec::new();
    }
    let start = (0..n)
        .min_by(|&a, &b| angles[a].abs().total_cmp(&angles[b].abs()))
        .unwrap_or(0);
    let mut order = vec![start];
    let (mut up, mut down) = (start + 1, start as isize - 1);
    if scheme.dose_symmetric {
        let mut positive = true;
        while order.len() < n {
            let take_up = (positive && up < n) || down < 0;
            if take_up {
                order.push(up);
                up += 1;
            } else {
                order.push(down as usize);
                down -= 1;
            }
            positive = !positive;
        }
    } else {
        order.extend(up..n);
        order.extend((0..start).rev());
    }
    let mut rank = vec![0; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    rank
}

/// The geometry each image was *formed* with (angles in increasing order). Jitter draws from
/// its own random stream of `seed`, so it does not depend on anything else.
pub fn image_geoms(
    angles_deg: &[f32],
    scheme: &TiltScheme,
    m: &Misalignment,
    seed: u64,
) -> Vec<ImageGeom> {
    let rank = acquisition_rank(angles_deg, scheme);
    let n = angles_deg.len();
    let mut rng = Rng::new(seed, 0x0071_77e2);
    angles_deg
        .iter()
        .zip(&rank)
        .map(|(&a, &r)| {
            let frac = if n > 1 {
                r as f32 / (n - 1) as f32
            } else {
                0.5
            };
            let bird = m.bird_a * (2.0 * frac - 1.0);
            let (jx, jy) = if m.jitter_a > 0.0 {
                (
                    (rng.normal() * m.jitter_a as f64) as f32,
                    (rng.normal() * m.jitter_a as f64) as f32,
                )
            } else {
                (0.0, 0.0)
            };
            ImageGeom {
                theta: a.to_radians(),
                rot: m.twister_deg.to_radians(),
                shift: [m.banana_a + jx, bird + jy],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheme(ds: bool) -> TiltScheme {
        TiltScheme {
            min_deg: -6.0,
            max_deg: 6.0,
            step_deg: 3.0,
            dose_symmetric: ds,
        }
    }

    #[test]
    fn orders() {
        let a = [-6.0, -3.0, 0.0, 3.0, 6.0];
        // dose-symmetric: 0, +3, −3, +6, −6
        assert_eq!(acquisition_rank(&a, &scheme(true)), vec![4, 2, 0, 1, 3]);
        // bidirectional: 0, +3, +6, −3, −6
        assert_eq!(acquisition_rank(&a, &scheme(false)), vec![4, 3, 0, 1, 2]);
    }

    #[test]
    fn bird_spans_plus_minus() {
        let a = [-6.0, -3.0, 0.0, 3.0, 6.0];
        let m = Misalignment {
            bird_a: 20.0,
            ..Default::default()
        };
        let g = image_geoms(&a, &scheme(false), &m, 1);
        let dv: Vec<f32> = g.iter().map(|g| g.shift[1]).collect();
        assert_eq!(dv, vec![20.0, 10.0, -20.0, -10.0, 0.0]);
    }
}
