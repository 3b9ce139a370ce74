//! The forward pass: four fused conv → ReLU → max-pool → batch-norm blocks, the dense head and
//! the sigmoid, with no heap and a caller-owned [`Scratch`] of [`SCRATCH_LEN`] f32 values.
//!
//! - **Weights** are expanded once from f16 into a [`Prepared`] (f32, kernels re-laid out as
//!   `[dz][dy][dx][in][out]` for the row kernels), so no conversion happens in inner loops.
//! - **Batch norm is applied, not folded**: it comes after the pool and before the next conv's
//!   zero padding, so folding it into the next kernel would be wrong at the borders. It is stored
//!   as a per-channel affine map `y = scale·x + shift`, `scale = γ/√(var+ε)`,
//!   `shift = β − mean·scale` (computed in f64).
//! - **Fusion**: the kernels compute one output row at a time (all x, all channels) and max-pool
//!   it straight into the pooled output, which starts at 0 — `max(0, ·)` over the window is
//!   exactly pool(ReLU(·)). The full-resolution conv output (16×32³ for block 1) never exists,
//!   not even one row of it.
//! - Activations are channels-last (`[z][y][x][c]`), the input cube is x fastest, then y, then z.
use super::kernels::{conv_pool_row, panel_len, Backend};
use super::topology::{
    block_first_tensor, CHANNELS, CUBE_LEN, DENSE_FIRST_TENSOR, DENSE_UNITS, FEATURES, TAPS,
};
use super::weights::WeightFile;

const K1: usize = TAPS * CHANNELS[0] * CHANNELS[1];
const K2: usize = TAPS * CHANNELS[1] * CHANNELS[2];
const K3: usize = TAPS * CHANNELS[2] * CHANNELS[3];
const K4: usize = TAPS * CHANNELS[3] * CHANNELS[4];
/// Batch-norm channels over the four blocks (16 + 16 + 32 + 64).
const BN_CHANNELS: usize = CHANNELS[1] + CHANNELS[2] + CHANNELS[3] + CHANNELS[4];
/// First channel of block b in the concatenated per-channel arrays.
const CH_OFF: [usize; 4] = [0, 16, 32, 64];

/// Network parameters as f32, ready for the kernels. About 432 KiB ([`PREPARED_BYTES`]); keep
/// it in a `static`, a `Box` (`Prepared::boxed`, with `std`) or another long-lived place, not on
/// a small stack.
#[derive(Clone)]
pub struct Prepared {
    k1: [f32; K1],
    k2: [f32; K2],
    k3: [f32; K3],
    k4: [f32; K4],
    bias: [f32; BN_CHANNELS],
    scale: [f32; BN_CHANNELS],
    shift: [f32; BN_CHANNELS],
    d1w: [f32; DENSE_UNITS * FEATURES],
    d1b: [f32; DENSE_UNITS],
    d2w: [f32; DENSE_UNITS],
    d2b: f32,
}

/// f32 values held by a [`Prepared`].
pub const PREPARED_LEN: usize =
    K1 + K2 + K3 + K4 + 3 * BN_CHANNELS + DENSE_UNITS * FEATURES + 2 * DENSE_UNITS + 1;
/// Bytes of a [`Prepared`].
pub const PREPARED_BYTES: usize = core::mem::size_of::<Prepared>();
const _: () = assert!(PREPARED_BYTES == 4 * PREPARED_LEN);

impl Prepared {
    /// All-zero parameters (a network whose logit is 0); fill it with [`Prepared::load`].
    pub const fn zeroed() -> Self {
        Prepared {
            k1: [0.0; K1],
            k2: [0.0; K2],
            k3: [0.0; K3],
            k4: [0.0; K4],
            bias: [0.0; BN_CHANNELS],
            scale: [0.0; BN_CHANNELS],
            shift: [0.0; BN_CHANNELS],
            d1w: [0.0; DENSE_UNITS * FEATURES],
            d1b: [0.0; DENSE_UNITS],
            d2w: [0.0; DENSE_UNITS],
            d2b: 0.0,
        }
    }

    /// Expands a validated weight file into `self` (f16 → f32, kernel re-layout, batch norm
    /// turned into scale/shift). Overwrites every value.
    pub fn load(&mut self, wf: &WeightFile<'_>) {
        let eps = wf.epsilon() as f64;
        let kernels: [&mut [f32]; 4] = [&mut self.k1, &mut self.k2, &mut self.k3, &mut self.k4];
        for (b, dst) in kernels.into_iter().enumerate() {
            let (ci, co) = (CHANNELS[b], CHANNELS[b + 1]);
            let t = block_first_tensor(b);
            let kernel = tensor(wf, t);
            // File: [out][in][kz][ky][kx] → kernels: [kz][ky][kx][in][out].
            for o in 0..co {
                for i in 0..ci {
                    for tap in 0..TAPS {
                        dst[(tap * ci + i) * co + o] = kernel.get((o * ci + i) * TAPS + tap);
                    }
                }
            }
            let (bias, gamma, beta) = (tensor(wf, t + 1), tensor(wf, t + 2), tensor(wf, t + 3));
            let (mean, var) = (tensor(wf, t + 4), tensor(wf, t + 5));
            for c in 0..co {
                let k = CH_OFF[b] + c;
                let scale = gamma.get(c) as f64 / libm::sqrt(var.get(c) as f64 + eps);
                self.bias[k] = bias.get(c);
                self.scale[k] = scale as f32;
                self.shift[k] = (beta.get(c) as f64 - mean.get(c) as f64 * scale) as f32;
            }
        }
        let d = DENSE_FIRST_TENSOR;
        for (dst, v) in self.d1w.iter_mut().zip(tensor(wf, d).iter()) {
            *dst = v;
        }
        for (dst, v) in self.d1b.iter_mut().zip(tensor(wf, d + 1).iter()) {
            *dst = v;
        }
        for (dst, v) in self.d2w.iter_mut().zip(tensor(wf, d + 2).iter()) {
            *dst = v;
        }
        self.d2b = tensor(wf, d + 3).get(0);
    }
}

fn tensor<'a>(wf: &WeightFile<'a>, i: usize) -> super::weights::Tensor<'a> {
    // The index comes from the topology constants, so it is always in range.
    wf.tensor(i).expect("tensor index from topology")
}

const A_LEN: usize = 16 * 16 * 16 * CHANNELS[1];
const B_LEN: usize = 8 * 8 * 8 * CHANNELS[2];
const C_LEN: usize = 4 * 4 * 4 * CHANNELS[3];
const D_LEN: usize = FEATURES;
const PANEL_MAX: usize = max4([
    panel_len(1, 32),
    panel_len(16, 16),
    panel_len(16, 8),
    panel_len(32, 4),
]);

const fn max4(v: [usize; 4]) -> usize {
    let mut m = v[0];
    let mut i = 1;
    while i < 4 {
        if v[i] > m {
            m = v[i];
        }
        i += 1;
    }
    m
}

/// f32 values of working memory one forward pass needs (pooled activations of blocks 1–4,
/// the hidden layer and one input panel): 78,944 values = 308.4 KiB.
pub const SCRATCH_LEN: usize = A_LEN + B_LEN + C_LEN + D_LEN + DENSE_UNITS + PANEL_MAX;
/// Bytes of a [`Scratch`].
pub const SCRATCH_BYTES: usize = 4 * SCRATCH_LEN;
const _: () = assert!(SCRATCH_BYTES <= 320 * 1024);

/// Working memory of one forward pass; one per thread.
pub struct Scratch([f32; SCRATCH_LEN]);

impl Scratch {
    /// A zeroed scratch (contents never matter between calls).
    pub const fn zeroed() -> Self {
        Scratch([0.0; SCRATCH_LEN])
    }
}

/// Normalises a cube in place to mean 0 and population standard deviation 1 (statistics in
/// f64). A constant cube (deviation 0) becomes all zeros. Non-finite voxels make the whole cube
/// NaN, which [`logit`] then reports as NaN rather than a score.
pub fn normalize_cube(cube: &mut [f32; CUBE_LEN]) {
    let n = CUBE_LEN as f64;
    let mean = cube.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = cube
        .iter()
        .map(|&v| {
            let d = v as f64 - mean;
            d * d
        })
        .sum::<f64>()
        / n;
    if !var.is_finite() || !mean.is_finite() {
        cube.fill(f32::NAN);
        return;
    }
    if var == 0.0 {
        cube.fill(0.0);
        return;
    }
    let inv = 1.0 / libm::sqrt(var);
    for v in cube.iter_mut() {
        *v = ((*v as f64 - mean) * inv) as f32;
    }
}

/// The network's output before the sigmoid, with the best available kernels
/// ([`Backend::best`]). The cube must already be normalised as the network expects. Returns NaN
/// if the cube holds a NaN or infinite voxel (never a made-up score).
pub fn logit(net: &Prepared, cube: &[f32; CUBE_LEN], scratch: &mut Scratch) -> f32 {
    logit_with(Backend::best(), net, cube, scratch)
}

/// The score in [0, 1] (sigmoid of [`logit`]; 1 = correctly aligned). NaN for a non-finite cube.
pub fn score(net: &Prepared, cube: &[f32; CUBE_LEN], scratch: &mut Scratch) -> f32 {
    sigmoid(logit(net, cube, scratch))
}

/// Logistic function, 1 / (1 + e^−x).
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-x))
}

/// [`logit`] with an explicit kernel backend (for tests and benchmarks).
pub fn logit_with(
    backend: Backend,
    net: &Prepared,
    cube: &[f32; CUBE_LEN],
    scratch: &mut Scratch,
) -> f32 {
    if cube.iter().any(|v| !v.is_finite()) {
        return f32::NAN;
    }
    let s = &mut scratch.0[..];
    let (a, s) = s.split_at_mut(A_LEN);
    let (b, s) = s.split_at_mut(B_LEN);
    let (c, s) = s.split_at_mut(C_LEN);
    let (d, s) = s.split_at_mut(D_LEN);
    let (h, s) = s.split_at_mut(DENSE_UNITS);
    let panel = &mut s[..PANEL_MAX];
    let bn = |blk: usize| {
        let r = CH_OFF[blk]..CH_OFF[blk] + CHANNELS[blk + 1];
        (&net.bias[r.clone()], &net.scale[r.clone()], &net.shift[r])
    };
    block::<1, 16, 32, 2>(backend, cube, &net.k1, bn(0), a, panel);
    block::<16, 16, 16, 2>(backend, a, &net.k2, bn(1), b, panel);
    block::<16, 32, 8, 2>(backend, b, &net.k3, bn(2), c, panel);
    block::<32, 64, 4, 4>(backend, c, &net.k4, bn(3), d, panel);
    for (j, hj) in h.iter_mut().enumerate() {
        let w = &net.d1w[j * FEATURES..(j + 1) * FEATURES];
        let sum: f32 = w.iter().zip(d.iter()).map(|(a, b)| a * b).sum();
        *hj = (net.d1b[j] + sum).max(0.0);
    }
    net.d2b
        + net
            .d2w
            .iter()
            .zip(h.iter())
            .map(|(a, b)| a * b)
            .sum::<f32>()
}

/// One fused block: conv(same, zero pad) + bias → ReLU → max-pool P → batch norm, for `CI`
/// input channels, `CO` output channels and an `E`³ input. `input` is `[E][E][E][CI]`, `out`
/// is `[E/P][E/P][E/P][CO]`.
fn block<const CI: usize, const CO: usize, const E: usize, const P: usize>(
    backend: Backend,
    input: &[f32],
    w: &[f32],
    (bias, scale, shift): (&[f32], &[f32], &[f32]),
    out: &mut [f32],
    panel: &mut [f32],
) {
    const { assert!(E % P == 0) };
    let q = E / P;
    let row_in = E * CI;
    let padded = (E + 2) * CI;
    let panel = &mut panel[..panel_len(CI, E)];
    let out = &mut out[..q * q * q * CO];
    // Pooled outputs start at 0: max(0, window) = max-pool of the ReLU.
    out.fill(0.0);
    for z in 0..E {
        for y in 0..E {
            let mut valid = [false; 9];
            for (r, ok) in valid.iter_mut().enumerate() {
                let (zz, yy) = ((z + r / 3).wrapping_sub(1), (y + r % 3).wrapping_sub(1));
                let dst = &mut panel[r * padded..(r + 1) * padded];
                *ok = zz < E && yy < E;
                if *ok {
                    let src = (zz * E + yy) * row_in;
                    dst[..CI].fill(0.0);
                    dst[CI..CI + row_in].copy_from_slice(&input[src..src + row_in]);
                    dst[CI + row_in..].fill(0.0);
                }
            }
            let o = ((z / P) * q + y / P) * q * CO;
            conv_pool_row::<CI, CO, E, P>(backend, panel, &valid, w, bias, &mut out[o..o + q * CO]);
        }
    }
    for v in out.chunks_exact_mut(CO) {
        for ((x, &s), &t) in v.iter_mut().zip(scale).zip(shift) {
            *x = *x * s + t;
        }
    }
}
