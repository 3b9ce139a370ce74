//! Simulated training data: class definitions, the random region recipes, geometry-respecting
//! augmentation, per-cube normalisation and the paper's dynamic class balancing.
//!
//! Magnitudes are given for a 100 Å bead and scale with the bead diameter (twister angles do
//! not scale; their displacement grows with the bead's distance from the field centre).
//! Classes keep a gap between them so the labels are not contradictory.
use half::f16;
use misalign::net::topology::{CUBE_LEN, EDGE};

use crate::qsim::{simulate, RegionSpec};
use misalign::rng::Rng;

/// The three alignment classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Aligned = 0,
    Weak = 1,
    Strong = 2,
}

/// The kind of alignment error of a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    None = 0,
    Banana = 1,
    Twister = 2,
    Bird = 3,
    Jitter = 4,
    Combo = 5,
}

/// Names of [`Kind`] values for logs.
pub const KIND_NAMES: [&str; 6] = ["none", "banana", "twister", "bird", "jitter", "combo"];

/// Residual jitter σ of aligned series (Å per 100 Å bead): realistic good alignments.
pub const ALIGNED_JITTER: (f64, f64) = (0.0, 12.0);
/// Weak class ranges (Å per 100 Å bead; twister in degrees).
pub const WEAK_BANANA: (f64, f64) = (12.0, 28.0);
pub const WEAK_TWISTER_DEG: (f64, f64) = (0.25, 0.6);
pub const WEAK_BIRD: (f64, f64) = (6.0, 11.0);
pub const WEAK_JITTER: (f64, f64) = (16.0, 25.0);
/// Strong class ranges.
pub const STRONG_BANANA: (f64, f64) = (36.0, 300.0);
pub const STRONG_TWISTER_DEG: (f64, f64) = (0.85, 5.0);
pub const STRONG_BIRD: (f64, f64) = (14.0, 200.0);
pub const STRONG_JITTER: (f64, f64) = (32.0, 150.0);
/// Distance of a twister's bead from the field centre, Å.
pub const TWISTER_RADIUS: (f64, f64) = (2500.0, 4500.0);

fn log_uniform(rng: &mut Rng, (lo, hi): (f64, f64)) -> f64 {
    if lo <= 0.0 {
        return rng.range(lo, hi);
    }
    (rng.range(lo.ln(), hi.ln())).exp()
}

/// Adds the detector shifts of an in-plane rotation error of `deg` about the field centre for a
/// bead at `field` = [x, y, z] Å from the centre (tilt axis Y): the projected position
/// (u, v) = (x·cosθ + z·sinθ, y) is rotated by `deg`.
pub fn add_twister(deg: f64, field: [f64; 3], tilts: &[f64], shifts: &mut [(f64, f64)]) {
    let (ca, sa) = (deg.to_radians().cos(), deg.to_radians().sin());
    for (s, &t) in shifts.iter_mut().zip(tilts) {
        let u = field[0] * t.to_radians().cos() + field[2] * t.to_radians().sin();
        s.0 += u * (ca - 1.0) - field[1] * sa;
        s.1 += u * sa + field[1] * (ca - 1.0);
    }
}

/// Adds one systematic/random error of `kind` with magnitudes drawn from the class ranges.
fn add_error(
    kind: Kind,
    strong: bool,
    scale: f64,
    tilts: &[f64],
    shifts: &mut [(f64, f64)],
    rng: &mut Rng,
) {
    let tmax = tilts.iter().fold(0f64, |m, t| m.max(t.abs()));
    match kind {
        Kind::Banana => {
            let a = log_uniform(rng, if strong { STRONG_BANANA } else { WEAK_BANANA })
                * scale
                * rng.sign();
            shifts.iter_mut().for_each(|s| s.0 += a);
        }
        Kind::Twister => {
            let deg = log_uniform(
                rng,
                if strong {
                    STRONG_TWISTER_DEG
                } else {
                    WEAK_TWISTER_DEG
                },
            ) * rng.sign();
            let r = rng.range(TWISTER_RADIUS.0, TWISTER_RADIUS.1);
            let phi = rng.range(0.0, std::f64::consts::TAU);
            let field = [r * phi.cos(), r * phi.sin(), rng.range(-800.0, 800.0)];
            add_twister(deg, field, tilts, shifts);
        }
        Kind::Bird => {
            let b =
                log_uniform(rng, if strong { STRONG_BIRD } else { WEAK_BIRD }) * scale * rng.sign();
            for (s, &t) in shifts.iter_mut().zip(tilts) {
                s.1 += b * t / tmax;
            }
        }
        Kind::Jitter => {
            let sd = log_uniform(rng, if strong { STRONG_JITTER } else { WEAK_JITTER }) * scale;
            shifts.iter_mut().for_each(|s| {
                s.0 += sd * rng.normal();
                s.1 += sd * rng.normal();
            });
        }
        Kind::Combo => {
            let parts = [Kind::Banana, Kind::Twister, Kind::Bird, Kind::Jitter];
            let first = rng.below(4);
            add_error(parts[first], strong, scale, tilts, shifts, rng);
            for (i, &k) in parts.iter().enumerate() {
                if i != first && rng.chance(0.5) {
                    add_error(k, strong, scale, tilts, shifts, rng);
                }
            }
        }
        Kind::None => {}
    }
}

/// Where the reconstruction of a bead with these per-tilt shifts has its centroid, relative to
/// the true position (Å): x = mean(su·cosθ), y = mean(sv), z = mean(su·sinθ).
pub fn smeared_centre(tilts: &[f64], shifts: &[(f64, f64)]) -> [f64; 3] {
    let k = tilts.len().max(1) as f64;
    let cx = shifts
        .iter()
        .zip(tilts)
        .map(|(s, t)| s.0 * t.to_radians().cos())
        .sum::<f64>()
        / k;
    let cz = shifts
        .iter()
        .zip(tilts)
        .map(|(s, t)| s.0 * t.to_radians().sin())
        .sum::<f64>()
        / k;
    let cy = shifts.iter().map(|s| s.1).sum::<f64>() / k;
    [cx, cy, cz]
}

/// Draws a region recipe for `class`/`kind`: bead 5–15 nm, tomogram sampling 5–20 px per bead,
/// tilt range ±45…±70 in steps of 2–3°, centring error ±2 px, neighbours, clutter, noise, blur.
pub fn random_spec(class: Class, kind: Kind, rng: &mut Rng) -> RegionSpec {
    let bead_a = [50.0, 60.0, 100.0, 100.0, 150.0][rng.below(5)] * rng.range(0.93, 1.07);
    let scale = bead_a / 100.0;
    let tomo_px_a = bead_a / rng.range(5.0, 20.0);
    let tmax = rng.range(45.0, 70.0);
    let step = [2.0, 2.5, 3.0][rng.below(3)];
    let n = (tmax / step).floor() as i64;
    let tilts: Vec<f64> = (-n..=n).map(|k| k as f64 * step).collect();
    // Every series keeps a realistic residual error.
    let res = rng.range(
        ALIGNED_JITTER.0,
        if class == Class::Aligned {
            ALIGNED_JITTER.1
        } else {
            8.0
        },
    ) * scale;
    let mut shifts: Vec<(f64, f64)> = tilts
        .iter()
        .map(|_| (res * rng.normal(), res * rng.normal()))
        .collect();
    if class != Class::Aligned {
        add_error(
            kind,
            class == Class::Strong,
            scale,
            &tilts,
            &mut shifts,
            rng,
        );
    }
    // The cube is centred where a detector finds the (smeared) bead: the centroid of its
    // back-projection, x = mean(su·cosθ), z = mean(su·sinθ), y = mean(sv), plus a ±2 px error.
    let [cx, cy, cz] = smeared_centre(&tilts, &shifts);
    let off = |r: &mut Rng| r.range(-2.0, 2.0) * tomo_px_a;
    let bead_offset_a = [off(rng) - cx, off(rng) - cy, off(rng) - cz];
    let vt = bead_a / 16.0;
    let half = EDGE as f64 / 2.0 * vt;
    let mut neighbours = Vec::new();
    let count = [0, 0, 1, 1, 2, 3][rng.below(6)];
    while neighbours.len() < count {
        let p = [
            rng.range(-half, half),
            rng.range(-half, half),
            rng.range(-1.5 * half, 1.5 * half),
        ];
        let d2: f64 = p
            .iter()
            .zip(&bead_offset_a)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        if d2.sqrt() > 1.3 * bead_a {
            neighbours.push(p);
        }
    }
    let blobs = (0..rng.below(25) + 10)
        .map(|_| {
            let p = [
                rng.range(-1.6 * half, 1.6 * half),
                rng.range(-1.2 * half, 1.2 * half),
                rng.range(-1.5 * half, 1.5 * half),
            ];
            (p, rng.range(20.0, 80.0), -rng.range(0.02, 0.15))
        })
        .collect();
    RegionSpec {
        bead_a,
        tomo_px_a,
        tilts,
        shifts,
        bead_offset_a,
        neighbours,
        blobs,
        noise_rel: log_uniform(rng, (0.2, 1.5)),
        blur_px: rng.range(0.3, 1.2),
    }
}

/// Normalises a cube to mean 0 and standard deviation 1 with the core's own
/// `misalign::net::normalize_cube`, so training sees exactly what inference will.
pub fn normalize(cube: &mut [f32]) {
    let arr: &mut [f32; CUBE_LEN] = cube.try_into().expect("a 32³ cube");
    misalign::net::normalize_cube(arr);
}

/// Geometry-respecting augmentation: bit 0 flips x, bit 1 flips y, bit 2 flips z (x+z together
/// is the 180° rotation about the tilt axis Y). No axis swaps: the tilt axis stays Y and the
/// missing wedge stays in XZ.
pub fn augment(src: &[f32], flips: u8, dst: &mut [f32]) {
    let e = EDGE;
    let m = |b: u8, i: usize| if flips & b != 0 { e - 1 - i } else { i };
    for z in 0..e {
        for y in 0..e {
            let s = (m(4, z) * e + m(2, y)) * e;
            let d = &mut dst[(z * e + y) * e..][..e];
            if flips & 1 != 0 {
                d.iter_mut()
                    .zip(src[s..s + e].iter().rev())
                    .for_each(|(a, b)| *a = *b);
            } else {
                d.copy_from_slice(&src[s..s + e]);
            }
        }
    }
}

/// Class and kind of item `i` of a data set: 30 % aligned, 30 % weak (even over the four error
/// kinds), 40 % strong (even over the five kinds, combinations included).
pub fn plan(i: usize) -> (Class, Kind) {
    const WEAK: [Kind; 4] = [Kind::Banana, Kind::Twister, Kind::Bird, Kind::Jitter];
    const STRONG: [Kind; 5] = [
        Kind::Banana,
        Kind::Twister,
        Kind::Bird,
        Kind::Jitter,
        Kind::Combo,
    ];
    match i % 10 {
        0..=2 => (Class::Aligned, Kind::None),
        3..=5 => (Class::Weak, WEAK[(i / 10 + i % 10) % 4]),
        _ => (Class::Strong, STRONG[(i / 10 * 4 + i % 10) % 5]),
    }
}

/// A generated data set held in memory as f16 cubes (normalised) with class/kind labels.
pub struct Dataset {
    pub cubes: Vec<f16>,
    pub class: Vec<Class>,
    pub kind: Vec<Kind>,
}

impl Dataset {
    /// Number of cubes.
    pub fn len(&self) -> usize {
        self.class.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.class.is_empty()
    }

    /// Cube `i` widened to f32 into `out`.
    pub fn cube(&self, i: usize, out: &mut [f32]) {
        out.iter_mut()
            .zip(&self.cubes[i * CUBE_LEN..(i + 1) * CUBE_LEN])
            .for_each(|(o, v)| *o = v.to_f32());
    }
}

/// One simulated, normalised cube of item `i` of the data set with this `seed` (independent of
/// thread count and order).
pub fn make_item(seed: u64, i: usize) -> (Vec<f32>, Class, Kind) {
    let (class, kind) = plan(i);
    let mut rng = Rng::new(seed, i as u64);
    let spec = random_spec(class, kind, &mut rng);
    let mut cube = simulate(&spec, &mut rng);
    normalize(&mut cube);
    (cube, class, kind)
}

/// Generates `n` items on `threads` threads.
pub fn generate(seed: u64, n: usize, threads: usize) -> Dataset {
    let mut cubes = vec![f16::ZERO; n * CUBE_LEN];
    let threads = threads.max(1);
    let per = n.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (t, chunk) in cubes.chunks_mut(per * CUBE_LEN).enumerate() {
            s.spawn(move || {
                for (j, dst) in chunk.chunks_exact_mut(CUBE_LEN).enumerate() {
                    let (c, _, _) = make_item(seed, t * per + j);
                    dst.iter_mut()
                        .zip(&c)
                        .for_each(|(d, v)| *d = f16::from_f32(*v));
                }
            });
        }
    });
    let (class, kind) = (0..n).map(plan).unzip();
    Dataset { cubes, class, kind }
}

/// Which network a batch is drawn for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Label 1 = aligned or weak, 0 = strong; batches ¼ aligned, ¼ weak, ½ strong.
    Strong,
    /// Label 1 = aligned, 0 = weak; batches ½ aligned, ½ weak.
    Weak,
}

impl Task {
    /// Label of a class for this task (None: the class is not used).
    pub fn label(self, c: Class) -> Option<f32> {
        match (self, c) {
            (Task::Strong, Class::Strong) => Some(0.0),
            (Task::Strong, _) => Some(1.0),
            (Task::Weak, Class::Aligned) => Some(1.0),
            (Task::Weak, Class::Weak) => Some(0.0),
            (Task::Weak, Class::Strong) => None,
        }
    }
}

/// Dynamic balancing: draws batch indices with fixed class proportions and, inside a class, an
/// even mix of error kinds.
pub struct Sampler {
    groups: Vec<Vec<usize>>,
    /// Group ids making up one batch, in order.
    pattern: Vec<usize>,
}

impl Sampler {
    /// Index lists per (class, kind) of `ds` and the batch pattern of `task` for `batch` items.
    pub fn new(ds: &Dataset, task: Task, batch: usize) -> Self {
        let mut keys: Vec<(Class, Kind)> = Vec::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for i in 0..ds.len() {
            let key = (ds.class[i], ds.kind[i]);
            match keys.iter().position(|k| *k == key) {
                Some(g) => groups[g].push(i),
                None => {
                    keys.push(key);
                    groups.push(vec![i]);
                }
            }
        }
        let of = |c: Class| -> Vec<usize> { (0..keys.len()).filter(|&g| keys[g].0 == c).collect() };
        let (al, wk, st) = (of(Class::Aligned), of(Class::Weak), of(Class::Strong));
        let mut pattern = Vec::with_capacity(batch);
        for j in 0..batch {
            let pick = |gs: &Vec<usize>, k: usize| gs[k % gs.len().max(1)];
            let g = match task {
                Task::Strong => match j % 4 {
                    0 => pick(&al, j / 4),
                    1 => pick(&wk, j / 4),
                    _ => pick(&st, j / 2),
                },
                Task::Weak => {
                    if j % 2 == 0 {
                        pick(&al, j / 2)
                    } else {
                        pick(&wk, j / 2)
                    }
                }
            };
            pattern.push(g);
        }
        Sampler { groups, pattern }
    }

    /// Item indices and flips of the next batch.
    pub fn batch(&self, rng: &mut Rng) -> Vec<(usize, u8)> {
        self.pattern
            .iter()
            .map(|&g| {
                let gr = &self.groups[g];
                (gr[rng.below(gr.len())], (rng.next_u64() & 7) as u8)
            })
            .collect()
    }
}
