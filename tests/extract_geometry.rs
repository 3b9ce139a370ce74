//! Extraction geometry: box edges, bead centring and width, borders, the coordinate link,
//! lazy reading and input validation.
use std::sync::Mutex;

use misalign::host::extract::{
    box_edge, extract, BorderPolicy, BoxRule, ExtractParams, Normalization,
};
use misalign::host::Acquisition;
use misalign::host::{Result, SliceSource, Volume};
use misalign::net::topology::CUBE_LEN;

fn raw(d: f32, s: f32) -> ExtractParams {
    ExtractParams {
        normalization: Normalization::Raw,
        threads: 1,
        ..ExtractParams::new(Acquisition {
            sampling_a: s as f64,
            bead_diameter_a: d as f64,
        })
    }
}

#[test]
fn v1_box_edges_match_the_worked_table() {
    // (s_tomo, bead Å, B_e, effective Å/px) from spec §3 "Worked numbers".
    let rows = [
        (18.92f32, 80.0f32, 8usize, 4.73f32, true),
        (13.7, 100.0, 14, 5.99, true),
        (10.8, 100.0, 18, 6.08, true),
        (5.4, 100.0, 37, 6.24, true),
        (2.7, 100.0, 74, 6.24, true),
        (6.25, 100.0, 32, 6.25, false),
    ];
    for (s, d, edge, eff, resample) in rows {
        let p = ExtractParams {
            box_rule: BoxRule::XmippV1,
            ..raw(d, s)
        };
        let g = box_edge(&p).unwrap();
        assert_eq!((g.edge, g.resample), (edge, resample), "s_tomo {s}");
        assert!(
            (g.cube_sampling_a - eff).abs() < 0.006,
            "s_tomo {s}: {}",
            g.cube_sampling_a
        );
    }
    // Ours: even, rounded: 0.2643·16 = 4.23 → 8, 7.30 → 14, 9.26 → 18, 18.52 → 38, 37.04 → 74.
    let even = [
        (18.92f32, 80.0f32, 8usize),
        (13.7, 100.0, 14),
        (10.8, 100.0, 18),
    ];
    let even2 = [
        (5.4f32, 100.0f32, 38usize),
        (2.7, 100.0, 74),
        (6.25, 100.0, 32),
    ];
    for (s, d, edge) in even.into_iter().chain(even2) {
        let g = box_edge(&raw(d, s)).unwrap();
        assert_eq!(g.edge, edge, "s_tomo {s}");
        let want = s * edge as f32 / 32.0;
        assert!((g.cube_sampling_a - want).abs() < 1e-5);
    }
}

/// A volume of 1 with a dark isotropic Gaussian of `sigma_a` Å at `c` (voxels).
fn blob_volume(dims: [usize; 3], s: f32, c: [f64; 3], sigma_a: f64) -> Volume {
    let sig = sigma_a / s as f64;
    let mut v = Volume::zeros(dims, [s; 3]).unwrap();
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                let r2 = (x as f64 - c[0]).powi(2)
                    + (y as f64 - c[1]).powi(2)
                    + (z as f64 - c[2]).powi(2);
                let i = v.index(x, y, z);
                v.data[i] = (1.0 - 0.8 * (-r2 / (2.0 * sig * sig)).exp()) as f32;
            }
        }
    }
    v
}

/// Centroid and per-axis SD of the darkness `1 − v` of a cube.
fn moments(cube: &[f32]) -> ([f64; 3], [f64; 3]) {
    let (mut w, mut m1, mut m2) = (0.0, [0.0; 3], [0.0; 3]);
    for z in 0..32 {
        for y in 0..32 {
            for x in 0..32 {
                let d = 1.0 - cube[(z * 32 + y) * 32 + x] as f64;
                w += d;
                for (a, p) in [x, y, z].into_iter().enumerate() {
                    m1[a] += d * p as f64;
                    m2[a] += d * (p * p) as f64;
                }
            }
        }
    }
    let c = m1.map(|v| v / w);
    let mut sd = [0.0; 3];
    for a in 0..3 {
        sd[a] = (m2[a] / w - c[a] * c[a]).sqrt();
    }
    (c, sd)
}

fn check_blob(s: f32, dims: [usize; 3], c: [f64; 3], sigma_vox: f64, want_edge: usize) {
    let p = raw(100.0, s);
    let g = box_edge(&p).unwrap();
    assert_eq!(g.edge, want_edge);
    let sigma_a = sigma_vox * g.cube_sampling_a as f64;
    let vol = blob_volume(dims, s, c, sigma_a);
    let e = extract(&vol, &[c], &p).unwrap();
    assert_eq!(e.beads.len(), 1);
    let (centre, sd) = moments(e.cube(0));
    for a in 0..3 {
        assert!(
            (centre[a] - 16.0).abs() < 0.02,
            "ds {}: centre {centre:?}",
            g.ds
        );
        assert!(
            (sd[a] / sigma_vox - 1.0).abs() < 0.01,
            "ds {}: width {sd:?}, want {sigma_vox}",
            g.ds
        );
    }
}

#[test]
fn blob_lands_on_voxel_16_with_its_width_after_crop() {
    // 2.7 Å/voxel, 100 Å bead: ds 2.31, B_e 74, cube voxel 6.244 Å. Off-grid centre.
    check_blob(2.7, [90, 88, 84], [44.3, 43.8, 41.6], 3.0, 74);
}

#[test]
fn blob_lands_on_voxel_16_with_its_width_after_pad() {
    // 13.7 Å/voxel: ds 0.456, B_e 14, cube voxel 5.994 Å.
    check_blob(13.7, [30, 28, 26], [14.4, 13.7, 12.2], 3.5, 14);
}

/// A 64³ volume whose voxel value encodes its position, with ds = 1 (B_e = 32, plain cut).
fn ramp_volume() -> Volume {
    let mut v = Volume::zeros([64; 3], [1.0; 3]).unwrap();
    for (i, d) in v.data.iter_mut().enumerate() {
        *d = i as f32;
    }
    v
}

#[test]
fn border_beads_are_skipped_and_the_link_kept() {
    let v = ramp_volume();
    let coords = [
        [5.0, 32.0, 32.0],
        [20.0, 30.0, 40.0],
        [32.0, 32.0, 50.0],
        [40.0, 44.0, 16.0],
    ];
    let e = extract(&v, &coords, &raw(16.0, 1.0)).unwrap();
    assert_eq!(e.box_edge, 32);
    assert_eq!(e.skipped, vec![0, 2]);
    assert!(e.padded.is_empty());
    assert_eq!(e.beads.len(), 2);
    for (k, want) in [(0usize, 1usize), (1, 3)] {
        assert_eq!(e.beads[k].input_index, want);
        assert_eq!(e.beads[k].position, coords[want]);
        // Voxel 16 of cube k is the tomogram voxel at the bead (the ramp encodes positions).
        let [x, y, z] = coords[want].map(|c| c as usize);
        assert_eq!(e.cube(k)[(16 * 32 + 16) * 32 + 16], v.get(x, y, z));
    }
}

#[test]
fn border_beads_are_padded_with_the_block_mean() {
    let v = ramp_volume();
    let coords = [[5.0, 32.0, 32.0], [32.0, 32.0, 32.0]];
    let p = ExtractParams {
        border: BorderPolicy::Pad,
        ..raw(16.0, 1.0)
    };
    let e = extract(&v, &coords, &p).unwrap();
    assert!(e.skipped.is_empty());
    assert_eq!(e.padded, vec![0]);
    assert_eq!(e.beads.len(), 2);
    // Bead 0's box spans x = −11 … 20: the 11 planes x < 0 hold the mean of the rest.
    let c = e.cube(0);
    let mut sum = 0.0f64;
    let mut n = 0;
    for z in 0..32 {
        for y in 0..32 {
            for x in 11..32 {
                sum += c[(z * 32 + y) * 32 + x] as f64;
                n += 1;
            }
        }
    }
    let mean = (sum / n as f64) as f32;
    for z in 0..32 {
        for y in 0..32 {
            for x in 0..11 {
                assert_eq!(c[(z * 32 + y) * 32 + x], mean);
            }
        }
    }
    assert_eq!(c[(16 * 32 + 16) * 32 + 16], v.get(5, 32, 32));
}

/// Counts the slices read.
struct Counting<'a> {
    inner: &'a Volume,
    reads: Mutex<Vec<usize>>,
}

impl SliceSource for Counting<'_> {
    fn dims(&self) -> [usize; 3] {
        self.inner.dims
    }
    fn voxel_size(&self) -> [f32; 3] {
        self.inner.voxel_size
    }
    fn read_slice(&self, z: usize, out: &mut [f32]) -> Result<()> {
        self.reads.lock().unwrap().push(z);
        self.inner.read_slice(z, out)
    }
}

#[test]
fn only_needed_slices_are_read_once() {
    let v = Volume::zeros([48, 48, 200], [2.0; 3]).unwrap();
    let src = Counting {
        inner: &v,
        reads: Mutex::new(Vec::new()),
    };
    // D = 40 Å at 2 Å/voxel: ds 1.25, B_e 40. Beads overlap in z (100, 110) and one is apart.
    let coords = [
        [24.0, 24.0, 150.0],
        [24.0, 24.0, 100.0],
        [24.0, 24.0, 110.2],
    ];
    let e = extract(&src, &coords, &raw(40.0, 2.0)).unwrap();
    assert_eq!(e.box_edge, 40);
    assert_eq!(e.beads.len(), 3);
    let mut reads = src.reads.into_inner().unwrap();
    let n = reads.len();
    reads.sort_unstable();
    reads.dedup();
    assert_eq!(reads.len(), n, "a slice was read twice");
    let want: Vec<usize> = (80..130).chain(130..170).collect();
    assert_eq!(reads, want);
}

#[test]
fn bad_inputs_are_errors() {
    let v = Volume::zeros([40; 3], [1.0; 3]).unwrap();
    let c = [[20.0, 20.0, 20.0]];
    for (d, s) in [
        (0.0, 1.0),
        (-5.0, 1.0),
        (f32::NAN, 1.0),
        (16.0, 0.0),
        (16.0, -1.0),
    ] {
        assert!(extract(&v, &c, &raw(d, s)).is_err(), "d {d} s {s}");
    }
    assert!(extract(&v, &c, &raw(16.0, f32::INFINITY)).is_err());
    // Bead spanning less than a voxel, and an absurdly fine sampling.
    assert!(extract(&v, &c, &raw(0.2, 1.0)).is_err());
    assert!(extract(&v, &c, &raw(100.0, 0.01)).is_err());
    // Non-finite and out-of-volume coordinates name their row.
    let err = extract(
        &v,
        &[[20.0, 20.0, 20.0], [f64::NAN, 1.0, 1.0]],
        &raw(16.0, 1.0),
    );
    assert!(err.unwrap_err().to_string().contains("row 1"));
    let err = extract(&v, &[[20.0, 20.0, 45.0]], &raw(16.0, 1.0));
    assert!(err.unwrap_err().to_string().contains("outside"));
    // NaN voxels in a cube are reported, not passed on.
    let mut w = v.clone();
    let i = w.index(20, 20, 20);
    w.data[i] = f32::NAN;
    assert!(extract(&w, &c, &raw(16.0, 1.0)).is_err());
}

#[test]
fn constant_volume_gives_no_nan_and_threads_do_not_change_results() {
    let v = Volume::from_data([50; 3], [3.0; 3], vec![7.0; 125_000]).unwrap();
    let c = [[25.0, 25.0, 25.0], [24.3, 26.1, 23.9]];
    for norm in [Normalization::PerCube, Normalization::Xmipp] {
        let p = ExtractParams {
            normalization: norm,
            ..raw(40.0, 3.0)
        };
        let e = extract(&v, &c, &p).unwrap();
        assert_eq!(e.cubes.len(), 2 * CUBE_LEN);
        assert!(
            e.cubes.iter().all(|x| x.is_finite() && x.abs() < 1e-3),
            "{norm:?}"
        );
    }
    let blob = blob_volume([50; 3], 3.0, [25.2, 24.9, 25.4], 20.0);
    let one = extract(&blob, &c, &raw(40.0, 3.0)).unwrap();
    let p3 = ExtractParams {
        threads: 3,
        ..raw(40.0, 3.0)
    };
    assert_eq!(extract(&blob, &c, &p3).unwrap(), one);
}

#[test]
fn v1_skip_rule_and_truncated_coordinates() {
    // s_tomo 5.4, 100 Å bead: B_e = 37, h = 18; keep iff c − h ≥ 0 and c + h ≤ N (spec §3.3).
    let v = Volume::zeros([60, 60, 60], [5.4; 3]).unwrap();
    let p = ExtractParams {
        box_rule: BoxRule::XmippV1,
        ..raw(100.0, 5.4)
    };
    let coords = [
        [18.0, 30.0, 30.0],
        [17.9, 30.0, 30.0], // truncates to 17: skipped
        [42.0, 30.0, 30.0],
        [30.0, 43.0, 30.0], // 43 + 18 > 60: skipped
        [30.0, 30.0, 42.99],
    ];
    let e = extract(&v, &coords, &p).unwrap();
    assert_eq!(e.box_edge, 37);
    assert_eq!(e.skipped, vec![1, 3]);
    let kept: Vec<usize> = e.beads.iter().map(|b| b.input_index).collect();
    assert_eq!(kept, vec![0, 2, 4]);
}

/// The geometric contract: cube voxel `o` samples the tomogram at `x + (o − 16)·B_e/32` on each
/// axis. Checked exactly on a function that is periodic over the box (so the periodic sinc
/// interpolant reproduces it), for crop, pad and plain cut, with sub-voxel positions.
#[test]
fn cube_voxels_sample_the_tomogram_at_the_documented_positions() {
    for (s, d) in [
        (2.7f32, 100.0f32),
        (13.7, 100.0),
        (10.0, 112.0),
        (6.25, 100.0),
    ] {
        let p = raw(d, s);
        let b = box_edge(&p).unwrap().edge;
        let bf = b as f64;
        let tau = 2.0 * std::f64::consts::PI;
        let f = |x: f64, y: f64, z: f64| {
            (tau * x / bf + 0.3).cos()
                + 0.5 * (tau * 2.0 * y / bf).sin()
                + 0.7 * (tau * z / bf + 1.0).cos() * (tau * x / bf).cos()
        };
        let n = b + 12;
        let mut v = Volume::zeros([n; 3], [s; 3]).unwrap();
        for z in 0..n {
            for y in 0..n {
                for x in 0..n {
                    let i = v.index(x, y, z);
                    v.data[i] = f(x as f64, y as f64, z as f64) as f32;
                }
            }
        }
        let c = [
            n as f64 / 2.0 + 0.37,
            n as f64 / 2.0 - 0.21,
            n as f64 / 2.0 + 0.5,
        ];
        let e = extract(&v, &[c], &p).unwrap();
        let step = bf / 32.0;
        let mut worst = 0.0f64;
        for oz in 0..32 {
            for oy in 0..32 {
                for ox in 0..32 {
                    let at = |o: usize, a: usize| c[a] + (o as f64 - 16.0) * step;
                    let want = f(at(ox, 0), at(oy, 1), at(oz, 2));
                    let got = e.cube(0)[(oz * 32 + oy) * 32 + ox] as f64;
                    worst = worst.max((got - want).abs());
                }
            }
        }
        assert!(worst < 1e-4, "B_e {b}: max deviation {worst}");
    }
}
