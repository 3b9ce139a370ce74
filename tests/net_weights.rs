//! Weight-file validation: every header field, length, checksum and value check yields the
//! right `WeightError`; the encoder refuses what the parser would refuse.
use misalign::net::topology::{tensor_offset, PARAM_COUNT, TENSORS, TENSOR_COUNT};
use misalign::net::weights::{
    crc32, encode, encode_into, WeightError, WeightFile, CHECKSUM_LEN, FILE_LEN, HEADER_LEN,
};

fn params() -> Vec<f32> {
    // Deterministic, f16-friendly values; variances positive.
    (0..PARAM_COUNT)
        .map(|k| ((k % 97) as f32 - 48.0) / 64.0)
        .enumerate()
        .map(|(k, v)| if is_var(k) { v.abs() + 0.5 } else { v })
        .collect()
}

fn is_var(k: usize) -> bool {
    (0..TENSOR_COUNT).any(|t| {
        TENSORS[t].name.ends_with(".var")
            && (tensor_offset(t)..tensor_offset(t) + TENSORS[t].len).contains(&k)
    })
}

fn good() -> Vec<u8> {
    encode(&params(), 1e-3).unwrap()
}

/// Rewrites the checksum so that only the deliberate corruption is seen.
fn reseal(b: &mut [u8]) {
    let body = b.len() - CHECKSUM_LEN;
    let c = crc32(&b[..body]);
    b[body..].copy_from_slice(&c.to_le_bytes());
}

fn tensor_index(name: &str) -> usize {
    TENSORS.iter().position(|t| t.name == name).unwrap()
}

fn set_value(b: &mut [u8], k: usize, bits: u16) {
    let at = HEADER_LEN + 2 * k;
    b[at..at + 2].copy_from_slice(&bits.to_le_bytes());
    reseal(b);
}

#[test]
fn good_file_parses_and_round_trips() {
    let p = params();
    let b = good();
    assert_eq!(b.len(), FILE_LEN);
    let wf = WeightFile::parse(&b).unwrap();
    assert_eq!(wf.epsilon(), 1e-3);
    assert_eq!(wf.param_count(), PARAM_COUNT);
    for t in 0..TENSOR_COUNT {
        let ten = wf.tensor(t).unwrap();
        assert_eq!(ten.len(), TENSORS[t].len);
        for (j, v) in ten.iter().enumerate() {
            assert_eq!(v, p[tensor_offset(t) + j]);
        }
    }
    assert!(wf.tensor(TENSOR_COUNT).is_none());
    assert!(wf.value(PARAM_COUNT).is_none());
}

#[test]
fn parses_from_any_alignment() {
    let b = good();
    let mut shifted = vec![0u8; FILE_LEN + 3];
    for off in 1..4 {
        shifted[off..off + FILE_LEN].copy_from_slice(&b);
        let wf = WeightFile::parse(&shifted[off..off + FILE_LEN]).unwrap();
        assert_eq!(wf.value(5), WeightFile::parse(&b).unwrap().value(5));
    }
}

#[test]
fn header_fields_are_checked() {
    let mut b = good();
    b[0] = b'X';
    reseal(&mut b);
    assert_eq!(WeightFile::parse(&b).unwrap_err(), WeightError::BadMagic);

    let mut b = good();
    b[8..10].copy_from_slice(&2u16.to_le_bytes());
    reseal(&mut b);
    assert_eq!(
        WeightFile::parse(&b).unwrap_err(),
        WeightError::UnsupportedVersion { found: 2 }
    );

    let mut b = good();
    b[10..12].copy_from_slice(&7u16.to_le_bytes());
    reseal(&mut b);
    assert_eq!(
        WeightFile::parse(&b).unwrap_err(),
        WeightError::WrongTopology { found: 7 }
    );

    for eps in [0.0f32, -1e-3, f32::NAN, f32::INFINITY] {
        let mut b = good();
        b[12..16].copy_from_slice(&eps.to_le_bytes());
        reseal(&mut b);
        assert!(matches!(
            WeightFile::parse(&b).unwrap_err(),
            WeightError::BadEpsilon { .. }
        ));
    }

    let mut b = good();
    b[16..20].copy_from_slice(&27u32.to_le_bytes());
    reseal(&mut b);
    assert_eq!(
        WeightFile::parse(&b).unwrap_err(),
        WeightError::TensorCount { found: 27 }
    );

    let mut b = good();
    b[20..24].copy_from_slice(&110_896u32.to_le_bytes());
    reseal(&mut b);
    assert_eq!(
        WeightFile::parse(&b).unwrap_err(),
        WeightError::ParamCount { found: 110_896 }
    );
}

#[test]
fn lengths_are_checked() {
    let b = good();
    for len in [0, 10, HEADER_LEN, FILE_LEN - 1] {
        assert_eq!(
            WeightFile::parse(&b[..len]).unwrap_err(),
            WeightError::Truncated {
                len,
                expected: FILE_LEN
            }
        );
    }
    let mut long = b.clone();
    long.push(0);
    assert_eq!(
        WeightFile::parse(&long).unwrap_err(),
        WeightError::TrailingBytes {
            len: FILE_LEN + 1,
            expected: FILE_LEN
        }
    );
}

#[test]
fn checksum_catches_a_flipped_bit_anywhere() {
    let b = good();
    for at in [
        12,
        HEADER_LEN,
        HEADER_LEN + 100_001,
        FILE_LEN - CHECKSUM_LEN - 1,
        FILE_LEN - 1,
    ] {
        let mut c = b.clone();
        c[at] ^= 0x10;
        assert!(
            matches!(
                WeightFile::parse(&c).unwrap_err(),
                WeightError::Checksum { .. }
            ),
            "byte {at}"
        );
    }
}

#[test]
fn non_finite_values_are_refused_with_their_tensor() {
    let k = tensor_offset(tensor_index("conv2.kernel")) + 17;
    for bits in [
        0x7E00u16, /* NaN */
        0x7C00,    /* +Inf */
        0xFC00,    /* -Inf */
    ] {
        let mut b = good();
        set_value(&mut b, k, bits);
        assert_eq!(
            WeightFile::parse(&b).unwrap_err(),
            WeightError::NonFinite {
                tensor: "conv2.kernel",
                index: 17
            }
        );
    }
    let mut b = good();
    set_value(&mut b, PARAM_COUNT - 1, 0x7E00);
    assert_eq!(
        WeightFile::parse(&b).unwrap_err(),
        WeightError::NonFinite {
            tensor: "dense2.bias",
            index: 0
        }
    );
}

#[test]
fn negative_variance_is_refused() {
    let k = tensor_offset(tensor_index("bn3.var")) + 4;
    let mut b = good();
    set_value(&mut b, k, 0xBC00); // -1.0
    assert_eq!(
        WeightFile::parse(&b).unwrap_err(),
        WeightError::NegativeVariance {
            tensor: "bn3.var",
            index: 4,
            value: -1.0
        }
    );
    // A negative *mean* is fine.
    let mut b = good();
    set_value(&mut b, tensor_offset(tensor_index("bn3.mean")) + 4, 0xBC00);
    assert!(WeightFile::parse(&b).is_ok());
}

#[test]
fn encoder_refuses_bad_input() {
    let p = params();
    let mut out = vec![0u8; FILE_LEN];
    assert_eq!(
        encode_into(&p[1..], 1e-3, &mut out).unwrap_err(),
        WeightError::ParamCount {
            found: PARAM_COUNT - 1
        }
    );
    assert!(matches!(
        encode_into(&p, 1e-3, &mut out[..FILE_LEN - 1]).unwrap_err(),
        WeightError::BufferTooSmall { .. }
    ));
    assert!(matches!(
        encode_into(&p, 0.0, &mut out).unwrap_err(),
        WeightError::BadEpsilon { .. }
    ));
    let mut q = p.clone();
    q[3] = f32::NAN;
    assert_eq!(
        encode_into(&q, 1e-3, &mut out).unwrap_err(),
        WeightError::NonFinite {
            tensor: "conv1.kernel",
            index: 3
        }
    );
    let mut q = p.clone();
    q[500] = 1e6;
    assert_eq!(
        encode_into(&q, 1e-3, &mut out).unwrap_err(),
        WeightError::F16Overflow {
            tensor: "bn1.var",
            index: 4,
            value: 1e6
        }
    );
    let mut q = p.clone();
    let v = tensor_offset(tensor_index("bn1.var"));
    q[v] = -0.5;
    assert!(matches!(
        encode_into(&q, 1e-3, &mut out).unwrap_err(),
        WeightError::NegativeVariance {
            tensor: "bn1.var",
            index: 0,
            ..
        }
    ));
    // 65519 rounds to 65504 (largest f16): accepted; 65520 rounds to infinity: refused.
    let mut q = p.clone();
    q[0] = 65519.0;
    assert!(encode_into(&q, 1e-3, &mut out).is_ok());
    q[0] = 65520.0;
    assert!(encode_into(&q, 1e-3, &mut out).is_err());
}

#[test]
fn errors_display_a_useful_message() {
    let e = WeightError::NonFinite {
        tensor: "conv2.kernel",
        index: 17,
    };
    assert_eq!(e.to_string(), "conv2.kernel[17] is NaN or infinite");
    let e = WeightError::Truncated {
        len: 10,
        expected: FILE_LEN,
    };
    assert!(e.to_string().contains("truncated"));
}

#[test]
fn load_weights_names_the_file_on_error() {
    let dir = std::env::temp_dir().join(format!("misalign-net-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("broken.mlw");
    std::fs::write(&p, &good()[..1000]).unwrap();
    let e = misalign::host::infer::load_weights(&p).err().unwrap();
    assert!(matches!(e, misalign::host::Error::Weights(_)));
    assert!(
        e.to_string().contains("broken.mlw") && e.to_string().contains("truncated"),
        "{e}"
    );
    let missing = misalign::host::infer::load_weights(&dir.join("nope.mlw"))
        .err()
        .unwrap();
    assert!(matches!(missing, misalign::host::Error::Io { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}
