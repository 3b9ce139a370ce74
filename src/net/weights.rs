//! Weight files (`.mlw`): parsing, validation and encoding (format: `weights/FORMAT.md`).
//!
//! Everything here is `no_std` without a heap: [`WeightFile::parse`] borrows the bytes (any
//! alignment, e.g. an `include_bytes!` static) and decodes each value with `from_le_bytes`, so
//! big-endian targets read the same numbers. [`encode_into`] writes into a caller buffer of
//! [`FILE_LEN`] bytes; with `std`, [`encode`] returns a `Vec`.
use core::fmt;

use half::f16;

use super::topology::{tensor_offset, TensorKind, TensorSpec, PARAM_COUNT, TENSORS, TENSOR_COUNT};

/// First eight bytes of every weight file.
pub const MAGIC: [u8; 8] = *b"MISALNET";
/// The format version this crate reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// Identifier of the topology in `topology.rs` (spec/network.md); bump when it changes.
pub const TOPOLOGY_ID: u16 = 1;
/// Header bytes before the f16 payload.
pub const HEADER_LEN: usize = 24;
/// Bytes of the f16 payload (every parameter in [`TENSORS`] order).
pub const PAYLOAD_LEN: usize = 2 * PARAM_COUNT;
/// Bytes of the trailing checksum (CRC-32).
pub const CHECKSUM_LEN: usize = 4;
/// Exact length of a weight file in bytes.
pub const FILE_LEN: usize = HEADER_LEN + PAYLOAD_LEN + CHECKSUM_LEN;

/// Why a weight file (or the encoder's input) was refused.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WeightError {
    /// Fewer bytes than a complete file.
    Truncated { len: usize, expected: usize },
    /// More bytes than a complete file.
    TrailingBytes { len: usize, expected: usize },
    /// The first eight bytes are not [`MAGIC`].
    BadMagic,
    /// A format version this build does not read.
    UnsupportedVersion { found: u16 },
    /// Weights for another network topology.
    WrongTopology { found: u16 },
    /// The header's tensor count differs from [`TENSOR_COUNT`].
    TensorCount { found: u32 },
    /// The header's (or the encoder input's) parameter count differs from [`PARAM_COUNT`].
    ParamCount { found: usize },
    /// The stored CRC-32 does not match the bytes.
    Checksum { stored: u32, computed: u32 },
    /// Batch-norm epsilon is NaN, infinite, zero or negative.
    BadEpsilon { value: f32 },
    /// A NaN or infinite parameter.
    NonFinite { tensor: &'static str, index: usize },
    /// A batch-norm moving variance below zero.
    NegativeVariance {
        tensor: &'static str,
        index: usize,
        value: f32,
    },
    /// A finite parameter too large for f16 (|x| > 65504 after rounding).
    F16Overflow {
        tensor: &'static str,
        index: usize,
        value: f32,
    },
    /// The encoder's output buffer is shorter than [`FILE_LEN`].
    BufferTooSmall { len: usize, needed: usize },
}

impl fmt::Display for WeightError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use WeightError::*;
        match *self {
            Truncated { len, expected } => {
                write!(f, "truncated: {len} bytes, a weight file has {expected}")
            }
            TrailingBytes { len, expected } => write!(
                f,
                "{} trailing bytes: {len} bytes, a weight file has {expected}",
                len - expected
            ),
            BadMagic => write!(f, "not a misalign weight file (bad magic bytes)"),
            UnsupportedVersion { found } => write!(
                f,
                "unsupported format version {found} (this build reads {FORMAT_VERSION})"
            ),
            WrongTopology { found } => write!(
                f,
                "weights are for topology {found}, this build implements topology {TOPOLOGY_ID}"
            ),
            TensorCount { found } => {
                write!(f, "header says {found} tensors, the network has {TENSOR_COUNT}")
            }
            ParamCount { found } => {
                write!(f, "{found} parameters given, the network has {PARAM_COUNT}")
            }
            Checksum { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): file is corrupt"
            ),
            BadEpsilon { value } => {
                write!(f, "batch-norm epsilon {value} is not a finite positive number")
            }
            NonFinite { tensor, index } => write!(f, "{tensor}[{index}] is NaN or infinite"),
            NegativeVariance {
                tensor,
                index,
                value,
            } => write!(f, "{tensor}[{index}] = {value}: a variance cannot be negative"),
            F16Overflow {
                tensor,
                index,
                value,
            } => write!(f, "{tensor}[{index}] = {value} does not fit in f16 (max 65504)"),
            BufferTooSmall { len, needed } => {
                write!(f, "output buffer has {len} bytes, {needed} needed")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for WeightError {}

/// CRC-32 (IEEE 802.3, reflected, the one of zlib/PNG) lookup table.
const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// CRC-32 of `bytes` (same value as Python's `zlib.crc32`).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks one parameter value (already rounded to what the file stores).
fn check_value(spec: &'static TensorSpec, index: usize, v: f32) -> Result<(), WeightError> {
    if !v.is_finite() {
        return Err(WeightError::NonFinite {
            tensor: spec.name,
            index,
        });
    }
    if spec.kind == TensorKind::BnMovingVar && v < 0.0 {
        return Err(WeightError::NegativeVariance {
            tensor: spec.name,
            index,
            value: v,
        });
    }
    Ok(())
}

fn check_epsilon(eps: f32) -> Result<(), WeightError> {
    if eps.is_finite() && eps > 0.0 {
        Ok(())
    } else {
        Err(WeightError::BadEpsilon { value: eps })
    }
}

/// A validated weight file borrowed from its bytes.
#[derive(Clone, Copy, Debug)]
pub struct WeightFile<'a> {
    payload: &'a [u8],
    epsilon: f32,
}

impl<'a> WeightFile<'a> {
    /// Validates `bytes` completely: magic, version, topology, counts, exact length, checksum,
    /// epsilon, every value finite and every moving variance ≥ 0.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WeightError> {
        let len = bytes.len();
        if len < HEADER_LEN {
            return Err(WeightError::Truncated {
                len,
                expected: FILE_LEN,
            });
        }
        if bytes[..8] != MAGIC {
            return Err(WeightError::BadMagic);
        }
        let version = u16_at(bytes, 8);
        if version != FORMAT_VERSION {
            return Err(WeightError::UnsupportedVersion { found: version });
        }
        let topology = u16_at(bytes, 10);
        if topology != TOPOLOGY_ID {
            return Err(WeightError::WrongTopology { found: topology });
        }
        let epsilon = f32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
        let tensors = u32_at(bytes, 16);
        if tensors as usize != TENSOR_COUNT {
            return Err(WeightError::TensorCount { found: tensors });
        }
        let params = u32_at(bytes, 20) as usize;
        if params != PARAM_COUNT {
            return Err(WeightError::ParamCount { found: params });
        }
        if len < FILE_LEN {
            return Err(WeightError::Truncated {
                len,
                expected: FILE_LEN,
            });
        }
        if len > FILE_LEN {
            return Err(WeightError::TrailingBytes {
                len,
                expected: FILE_LEN,
            });
        }
        let body = FILE_LEN - CHECKSUM_LEN;
        let stored = u32_at(bytes, body);
        let computed = crc32(&bytes[..body]);
        if stored != computed {
            return Err(WeightError::Checksum { stored, computed });
        }
        check_epsilon(epsilon)?;
        let file = WeightFile {
            payload: &bytes[HEADER_LEN..body],
            epsilon,
        };
        for (t, spec) in TENSORS.iter().enumerate() {
            let tensor = file
                .tensor(t)
                .ok_or(WeightError::TensorCount { found: tensors })?;
            for j in 0..spec.len {
                check_value(spec, j, tensor.get(j))?;
            }
        }
        Ok(file)
    }

    /// Batch-norm epsilon stored in the file.
    pub fn epsilon(&self) -> f32 {
        self.epsilon
    }

    /// Tensor `i` of [`TENSORS`], or `None` if `i ≥ TENSOR_COUNT`.
    pub fn tensor(&self, i: usize) -> Option<Tensor<'a>> {
        let spec = TENSORS.get(i)?;
        let start = 2 * tensor_offset(i);
        Some(Tensor {
            spec,
            raw: &self.payload[start..start + 2 * spec.len],
        })
    }

    /// Parameter `k` of the concatenated vector as f32, or `None` if `k ≥ PARAM_COUNT`.
    pub fn value(&self, k: usize) -> Option<f32> {
        (k < PARAM_COUNT).then(|| f16_at(self.payload, k))
    }

    /// Number of values the file carries (always [`PARAM_COUNT`] for a parsed file).
    pub fn param_count(&self) -> usize {
        self.payload.len() / 2
    }
}

fn f16_at(raw: &[u8], j: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([raw[2 * j], raw[2 * j + 1]])).to_f32()
}

/// One tensor of a [`WeightFile`], decoded value by value.
#[derive(Clone, Copy, Debug)]
pub struct Tensor<'a> {
    spec: &'static TensorSpec,
    raw: &'a [u8],
}

impl<'a> Tensor<'a> {
    /// Name, kind and length from the topology.
    pub fn spec(&self) -> &'static TensorSpec {
        self.spec
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.spec.len
    }

    /// True for an empty tensor (never the case in this topology).
    pub fn is_empty(&self) -> bool {
        self.spec.len == 0
    }

    /// Value `j` as f32 (panics if `j ≥ len()`, like slice indexing).
    pub fn get(&self, j: usize) -> f32 {
        f16_at(self.raw, j)
    }

    /// All values in storage order.
    pub fn iter(&self) -> impl Iterator<Item = f32> + 'a {
        self.raw
            .chunks_exact(2)
            .map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32())
    }
}

/// Writes a weight file of `params` (exactly [`PARAM_COUNT`] f32 values in [`TENSORS`] order,
/// each rounded to the nearest f16, ties to even) and batch-norm `epsilon` into `out`.
/// Returns the number of bytes written ([`FILE_LEN`]). Refuses NaN/Inf, values that overflow
/// f16, negative moving variances and a bad epsilon; nothing useful is written on error.
pub fn encode_into(params: &[f32], epsilon: f32, out: &mut [u8]) -> Result<usize, WeightError> {
    if params.len() != PARAM_COUNT {
        return Err(WeightError::ParamCount {
            found: params.len(),
        });
    }
    if out.len() < FILE_LEN {
        return Err(WeightError::BufferTooSmall {
            len: out.len(),
            needed: FILE_LEN,
        });
    }
    check_epsilon(epsilon)?;
    for (t, spec) in TENSORS.iter().enumerate() {
        let start = tensor_offset(t);
        for (index, &v) in params[start..start + spec.len].iter().enumerate() {
            let h = f16::from_f32(v);
            if v.is_finite() && !h.is_finite() {
                return Err(WeightError::F16Overflow {
                    tensor: spec.name,
                    index,
                    value: v,
                });
            }
            check_value(spec, index, h.to_f32())?;
        }
    }
    out[..8].copy_from_slice(&MAGIC);
    out[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[10..12].copy_from_slice(&TOPOLOGY_ID.to_le_bytes());
    out[12..16].copy_from_slice(&epsilon.to_le_bytes());
    out[16..20].copy_from_slice(&(TENSOR_COUNT as u32).to_le_bytes());
    out[20..24].copy_from_slice(&(PARAM_COUNT as u32).to_le_bytes());
    for (k, &v) in params.iter().enumerate() {
        let at = HEADER_LEN + 2 * k;
        out[at..at + 2].copy_from_slice(&f16::from_f32(v).to_bits().to_le_bytes());
    }
    let body = FILE_LEN - CHECKSUM_LEN;
    let crc = crc32(&out[..body]);
    out[body..FILE_LEN].copy_from_slice(&crc.to_le_bytes());
    Ok(FILE_LEN)
}

/// [`encode_into`] returning a freshly allocated file.
#[cfg(feature = "std")]
pub fn encode(params: &[f32], epsilon: f32) -> Result<std::vec::Vec<u8>, WeightError> {
    let mut out = std::vec![0u8; FILE_LEN];
    encode_into(params, epsilon, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_zlib_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
