//! The fixed network topology (spec/network.md): sizes, tensor order and parameter counts.
//!
//! This file is the one source of truth for shapes. The weight-file format, the forward pass,
//! the trainer and the Keras converter all follow [`TENSORS`] in order.

/// Edge of the input cube in voxels.
pub const EDGE: usize = 32;
/// Voxels in one input cube (x fastest, then y, then z).
pub const CUBE_LEN: usize = EDGE * EDGE * EDGE;
/// Convolution kernel edge (3×3×3, "same" zero padding).
pub const KERNEL: usize = 3;
/// Taps of one 3×3×3 kernel for one input channel.
pub const TAPS: usize = KERNEL * KERNEL * KERNEL;
/// Channel counts: input, then the output of conv blocks 1..=4.
pub const CHANNELS: [usize; 5] = [1, 16, 16, 32, 64];
/// Spatial edge of the input of conv blocks 1..=4.
pub const BLOCK_EDGE: [usize; 4] = [32, 16, 8, 4];
/// Max-pool window (and stride) after conv blocks 1..=4; the last one is global.
pub const POOL: [usize; 4] = [2, 2, 2, 4];
/// Units of the hidden dense layer.
pub const DENSE_UNITS: usize = 512;
/// Features entering the dense head (channels after block 4, spatial extent 1³).
pub const FEATURES: usize = CHANNELS[4];
/// Default batch-norm epsilon (Keras default); weight files carry their own.
pub const DEFAULT_BN_EPSILON: f32 = 1e-3;

/// What a tensor holds; decides how the loader validates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorKind {
    /// Conv kernel, layout `[out][in][kz][ky][kx]`.
    ConvKernel,
    ConvBias,
    BnGamma,
    BnBeta,
    BnMovingMean,
    /// Must be ≥ 0.
    BnMovingVar,
    /// Dense kernel, layout `[out][in]`.
    DenseKernel,
    DenseBias,
}

/// One tensor of the canonical order.
#[derive(Clone, Copy, Debug)]
pub struct TensorSpec {
    pub name: &'static str,
    pub kind: TensorKind,
    pub len: usize,
}

const fn conv(name: &'static str, block: usize) -> TensorSpec {
    TensorSpec {
        name,
        kind: TensorKind::ConvKernel,
        len: CHANNELS[block + 1] * CHANNELS[block] * TAPS,
    }
}

const fn per_channel(name: &'static str, kind: TensorKind, block: usize) -> TensorSpec {
    TensorSpec {
        name,
        kind,
        len: CHANNELS[block + 1],
    }
}

macro_rules! block {
    ($b:expr, $k:literal, $bias:literal, $g:literal, $be:literal, $m:literal, $v:literal) => {
        [
            conv($k, $b),
            per_channel($bias, TensorKind::ConvBias, $b),
            per_channel($g, TensorKind::BnGamma, $b),
            per_channel($be, TensorKind::BnBeta, $b),
            per_channel($m, TensorKind::BnMovingMean, $b),
            per_channel($v, TensorKind::BnMovingVar, $b),
        ]
    };
}

#[rustfmt::skip]
const B1: [TensorSpec; 6] = block!(0, "conv1.kernel", "conv1.bias", "bn1.gamma", "bn1.beta", "bn1.mean", "bn1.var");
#[rustfmt::skip]
const B2: [TensorSpec; 6] = block!(1, "conv2.kernel", "conv2.bias", "bn2.gamma", "bn2.beta", "bn2.mean", "bn2.var");
#[rustfmt::skip]
const B3: [TensorSpec; 6] = block!(2, "conv3.kernel", "conv3.bias", "bn3.gamma", "bn3.beta", "bn3.mean", "bn3.var");
#[rustfmt::skip]
const B4: [TensorSpec; 6] = block!(3, "conv4.kernel", "conv4.bias", "bn4.gamma", "bn4.beta", "bn4.mean", "bn4.var");

/// Number of tensors in the canonical order.
pub const TENSOR_COUNT: usize = 28;

/// Every tensor, in the order of the weight file, the trainer and the converter.
#[rustfmt::skip]
pub const TENSORS: [TensorSpec; TENSOR_COUNT] = [
    B1[0], B1[1], B1[2], B1[3], B1[4], B1[5],
    B2[0], B2[1], B2[2], B2[3], B2[4], B2[5],
    B3[0], B3[1], B3[2], B3[3], B3[4], B3[5],
    B4[0], B4[1], B4[2], B4[3], B4[4], B4[5],
    TensorSpec { name: "dense1.kernel", kind: TensorKind::DenseKernel, len: DENSE_UNITS * FEATURES },
    TensorSpec { name: "dense1.bias", kind: TensorKind::DenseBias, len: DENSE_UNITS },
    TensorSpec { name: "dense2.kernel", kind: TensorKind::DenseKernel, len: DENSE_UNITS },
    TensorSpec { name: "dense2.bias", kind: TensorKind::DenseBias, len: 1 },
];

/// Index of the first tensor of conv block `b` (0-based) in [`TENSORS`].
pub const fn block_first_tensor(b: usize) -> usize {
    6 * b
}

/// Index of `dense1.kernel` in [`TENSORS`].
pub const DENSE_FIRST_TENSOR: usize = 24;

const fn sum_params(non_trainable_only: bool) -> usize {
    let mut i = 0;
    let mut total = 0;
    while i < TENSOR_COUNT {
        let t = TENSORS[i];
        let moving = matches!(t.kind, TensorKind::BnMovingMean | TensorKind::BnMovingVar);
        if !non_trainable_only || moving {
            total += t.len;
        }
        i += 1;
    }
    total
}

/// Offset (in values) of tensor `i` inside the concatenated parameter vector.
pub const fn tensor_offset(i: usize) -> usize {
    let mut k = 0;
    let mut off = 0;
    while k < i {
        off += TENSORS[k].len;
        k += 1;
    }
    off
}

/// All parameters, trainable or not (the paper's 110,897).
pub const PARAM_COUNT: usize = sum_params(false);
/// Batch-norm moving statistics (not trained by gradient descent).
pub const NON_TRAINABLE_COUNT: usize = sum_params(true);
/// Parameters updated by gradient descent (the paper's 110,641).
pub const TRAINABLE_COUNT: usize = PARAM_COUNT - NON_TRAINABLE_COUNT;

/// Multiply-adds ×2 of one forward pass (convolutions and dense layers).
pub const FLOPS_PER_CUBE: u64 = {
    let mut b = 0;
    let mut f: u64 = 0;
    while b < 4 {
        let e = BLOCK_EDGE[b] as u64;
        f += 2 * e * e * e * (CHANNELS[b] * CHANNELS[b + 1] * TAPS) as u64;
        b += 1;
    }
    f + 2 * (FEATURES * DENSE_UNITS + DENSE_UNITS) as u64
};

const _: () = assert!(PARAM_COUNT == 110_897);
const _: () = assert!(TRAINABLE_COUNT == 110_641);
const _: () = assert!(tensor_offset(TENSOR_COUNT) == PARAM_COUNT);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_paper() {
        assert_eq!(PARAM_COUNT, 110_897);
        assert_eq!(TRAINABLE_COUNT, 110_641);
        assert_eq!(NON_TRAINABLE_COUNT, 256);
    }

    #[test]
    fn per_layer_counts_match_the_spec_table() {
        let layer = |first: usize| TENSORS[first].len + TENSORS[first + 1].len;
        assert_eq!(layer(0), 448);
        assert_eq!(layer(6), 6_928);
        assert_eq!(layer(12), 13_856);
        assert_eq!(layer(18), 55_360);
        assert_eq!(layer(DENSE_FIRST_TENSOR), 33_280);
        assert_eq!(layer(DENSE_FIRST_TENSOR + 2), 513);
    }

    #[test]
    fn flops_match_the_spec() {
        // spec/network.md: 106.2 MFLOP per cube.
        let mflop = FLOPS_PER_CUBE as f64 / 1e6;
        assert!((mflop - 106.2).abs() < 0.1, "{mflop}");
    }
}
