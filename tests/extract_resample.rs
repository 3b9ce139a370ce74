//! The Fourier resampler against an independent naive f64 DFT: full spectrum, explicit bin
//! mapping, inverse DFT, real part.
use misalign::host::extract::{
    box_edge, extract, resample_block, resample_block_shifted, BoxRule, ExtractParams,
    Normalization,
};
use misalign::host::Acquisition;
use misalign::host::Volume;
use misalign::net::topology::CUBE_LEN;
use std::f64::consts::PI;

type C = (f64, f64);

mod common;
use common::noise;

/// Naive 1D DFT along one axis of an `n0×n1×n2` complex array (axis 0 = x fastest).
fn dft_axis(a: &[C], dims: [usize; 3], axis: usize, sign: f64) -> Vec<C> {
    let mut out = vec![(0.0, 0.0); a.len()];
    let stride = [1, dims[0], dims[0] * dims[1]];
    let n = dims[axis];
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                let p = [x, y, z];
                let base = x * stride[0] + y * stride[1] + z * stride[2] - p[axis] * stride[axis];
                let k = p[axis];
                let mut s = (0.0, 0.0);
                for j in 0..n {
                    let t = sign * 2.0 * PI * (k * j) as f64 / n as f64;
                    let v = a[base + j * stride[axis]];
                    s.0 += v.0 * t.cos() - v.1 * t.sin();
                    s.1 += v.0 * t.sin() + v.1 * t.cos();
                }
                out[x * stride[0] + y * stride[1] + z * stride[2]] = s;
            }
        }
    }
    out
}

fn dft3(a: &[C], dims: [usize; 3], sign: f64) -> Vec<C> {
    let a = dft_axis(a, dims, 0, sign);
    let a = dft_axis(&a, dims, 1, sign);
    dft_axis(&a, dims, 2, sign)
}

/// Where input bin `k` of an axis of length `b` goes in the 32-bin output spectrum, with its
/// weight and signed frequency: the symmetric rule written bin by bin.
fn targets(k: usize, b: usize) -> Vec<(usize, f64, f64)> {
    if b % 2 == 0 && k == b / 2 {
        let m = b / 2;
        if m > 16 {
            return vec![];
        }
        // Nyquist of the input: half at +m, half at −m (for m = 16 both halves meet again).
        return vec![(m % 32, 0.5, m as f64), ((32 - m) % 32, 0.5, -(m as f64))];
    }
    let f = if k <= b / 2 {
        k as i64
    } else {
        k as i64 - b as i64
    };
    if f.abs() > 16 {
        return vec![];
    }
    vec![(f.rem_euclid(32) as usize, 1.0, f as f64)]
}

/// Reference symmetric resampling with a sub-voxel shift (block voxels) as a phase ramp.
fn reference(block: &[f32], b: usize, shift: [f64; 3]) -> Vec<f64> {
    let a: Vec<C> = block.iter().map(|&v| (v as f64, 0.0)).collect();
    let f = dft3(&a, [b; 3], -1.0);
    let mut g = vec![(0.0, 0.0); CUBE_LEN];
    let scale = 1.0 / (b * b * b) as f64;
    for kz in 0..b {
        for ky in 0..b {
            for kx in 0..b {
                let v = f[(kz * b + ky) * b + kx];
                for &(oz, wz, fz) in &targets(kz, b) {
                    for &(oy, wy, fy) in &targets(ky, b) {
                        for &(ox, wx, fx) in &targets(kx, b) {
                            let ph = 2.0 * PI * (fx * shift[0] + fy * shift[1] + fz * shift[2])
                                / b as f64;
                            let w = wx * wy * wz * scale;
                            let (c, s) = (ph.cos(), ph.sin());
                            let e = &mut g[(oz * 32 + oy) * 32 + ox];
                            e.0 += w * (v.0 * c - v.1 * s);
                            e.1 += w * (v.0 * s + v.1 * c);
                        }
                    }
                }
            }
        }
    }
    let out = dft3(&g, [32; 3], 1.0);
    let max_imag = out.iter().map(|v| v.1.abs()).fold(0.0, f64::max);
    assert!(
        max_imag < 1e-9,
        "reference spectrum not Hermitian: {max_imag}"
    );
    out.iter().map(|v| v.0).collect()
}

fn max_diff(a: &[f32], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn symmetric_resampler_matches_naive_dft_for_odd_and_even_edges() {
    for (i, &b) in [7usize, 10, 15, 16, 32, 35, 40].iter().enumerate() {
        let block = noise(b * b * b, 11 + i as u64);
        let mut out = [0.0f32; CUBE_LEN];
        resample_block(&block, b, &mut out);
        let d = max_diff(&out, &reference(&block, b, [0.0; 3]));
        assert!(d < 2e-5, "edge {b}: max deviation {d}");
    }
}

#[test]
fn phase_ramp_shift_matches_naive_dft() {
    for (i, &b) in [10usize, 32, 35].iter().enumerate() {
        let block = noise(b * b * b, 40 + i as u64);
        let shift = [0.3, -0.45, 0.125];
        let mut out = [0.0f32; CUBE_LEN];
        resample_block_shifted(&block, b, shift, &mut out);
        let d = max_diff(&out, &reference(&block, b, shift));
        assert!(d < 2e-5, "edge {b}: max deviation {d}");
    }
}

#[test]
fn identity_at_edge_32_and_mean_preserved() {
    let block = noise(CUBE_LEN, 3);
    let mut out = [0.0f32; CUBE_LEN];
    resample_block(&block, 32, &mut out);
    assert_eq!(&out[..], &block[..]);
    for &b in &[9usize, 14, 33, 50] {
        let block: Vec<f32> = noise(b * b * b, b as u64).iter().map(|v| v + 2.5).collect();
        resample_block(&block, b, &mut out);
        let mb = block.iter().map(|&v| v as f64).sum::<f64>() / block.len() as f64;
        let mo = out.iter().map(|&v| v as f64).sum::<f64>() / CUBE_LEN as f64;
        assert!((mb - mo).abs() < 1e-5, "edge {b}: mean {mb} became {mo}");
    }
}

/// At edge 32 a shift by one whole voxel is a circular shift: the interpolant is periodic
/// and exact on the grid.
#[test]
fn whole_voxel_shift_is_a_circular_shift() {
    let cube = noise(CUBE_LEN, 77);
    let mut out = [0.0f32; CUBE_LEN];
    resample_block_shifted(&cube, 32, [1.0, 0.0, 0.0], &mut out);
    for z in 0..32 {
        for y in 0..32 {
            for x in 0..32 {
                let want = cube[(z * 32 + y) * 32 + (x + 1) % 32];
                let got = out[(z * 32 + y) * 32 + x];
                assert!((want - got).abs() < 1e-5, "({x},{y},{z}): {got} vs {want}");
            }
        }
    }
}

/// The V1 spectrum copy and complex-to-real inverse, written from the spec (§3 step 4).
fn reference_v1(block: &[f32], b: usize) -> Vec<f64> {
    let a: Vec<C> = block.iter().map(|&v| (v as f64, 0.0)).collect();
    let f = dft3(&a, [b; 3], -1.0);
    let scale = 1.0 / (b * b * b) as f64;
    // Full-axis (z, y) frequencies and where they go.
    let full: Vec<i64> = if b >= 32 {
        (0..16).chain(-16..0).collect()
    } else if b % 2 == 0 {
        (-(b as i64) / 2..(b as i64) / 2).collect()
    } else {
        (-(b as i64) / 2..=(b as i64) / 2).collect()
    };
    let half: Vec<i64> = (0..=16.min(b as i64 / 2)).collect();
    // Half spectrum G[z][y][0..=16].
    let mut g = vec![(0.0, 0.0); 32 * 32 * 17];
    for &fz in &full {
        for &fy in &full {
            for &fx in &half {
                let src = f[((fz.rem_euclid(b as i64) as usize) * b
                    + fy.rem_euclid(b as i64) as usize)
                    * b
                    + fx as usize];
                let dst = ((fz.rem_euclid(32) as usize) * 32 + fy.rem_euclid(32) as usize) * 17
                    + fx as usize;
                g[dst] = (src.0 * scale, src.1 * scale);
            }
        }
    }
    // Complex inverse along z and y, then a complex-to-real inverse along x.
    let g = dft_axis(&g, [17, 32, 32], 1, 1.0);
    let g = dft_axis(&g, [17, 32, 32], 2, 1.0);
    let mut out = vec![0.0; CUBE_LEN];
    for z in 0..32 {
        for y in 0..32 {
            let row = &g[(z * 32 + y) * 17..(z * 32 + y + 1) * 17];
            for x in 0..32 {
                let mut s = row[0].0 + row[16].0 * if x % 2 == 0 { 1.0 } else { -1.0 };
                for (k, v) in row.iter().enumerate().take(16).skip(1) {
                    let t = 2.0 * PI * (k * x) as f64 / 32.0;
                    s += 2.0 * (v.0 * t.cos() - v.1 * t.sin());
                }
                out[(z * 32 + y) * 32 + x] = s;
            }
        }
    }
    out
}

/// V1 mode through `extract`: a volume holding exactly the block, one bead at its centre.
#[test]
fn v1_mode_matches_the_spec_copy_and_c2r() {
    // Edges from the worked table (14 pad even, 37 crop odd) and an odd pad (15).
    for (i, &(sampling, want_edge)) in [(13.7f32, 14usize), (5.4, 37), (13.0, 15)]
        .iter()
        .enumerate()
    {
        let p = ExtractParams {
            normalization: Normalization::Raw,
            box_rule: BoxRule::XmippV1,
            threads: 1,
            ..ExtractParams::new(Acquisition {
                sampling_a: sampling as f64,
                bead_diameter_a: 100.0,
            })
        };
        assert_eq!(box_edge(&p).unwrap().edge, want_edge);
        let b = want_edge;
        let vol =
            Volume::from_data([b; 3], [sampling; 3], noise(b * b * b, 90 + i as u64)).unwrap();
        let h = (b / 2) as f64;
        let e = extract(&vol, &[[h, h, h]], &p).unwrap();
        assert_eq!(e.beads.len(), 1, "edge {b}");
        // V1 copies 2h voxels; an odd block keeps its last plane zero.
        let mut block = vol.data.clone();
        if b % 2 == 1 {
            for z in 0..b {
                for y in 0..b {
                    for x in 0..b {
                        if x == b - 1 || y == b - 1 || z == b - 1 {
                            block[(z * b + y) * b + x] = 0.0;
                        }
                    }
                }
            }
        }
        let d = max_diff(e.cube(0), &reference_v1(&block, b));
        assert!(d < 2e-5, "V1 edge {b}: max deviation {d}");
    }
}
