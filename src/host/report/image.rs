//! Small image helpers for reports: grey-scale PNG encoding with a contrast window, percentile
//! contrast, box downsampling, cube sections and base64 for data URIs.
use crate::host::{Error, Result};
use crate::net::topology::{CUBE_LEN, EDGE};

/// Encodes `data` (`width · height` values, row-major, row 0 on top) as an 8-bit grey PNG.
/// `lo` maps to black and `hi` to white, linearly, with clamping. Non-finite values are black;
/// `hi <= lo` gives a flat mid-grey picture.
pub fn encode_png_gray(
    width: usize,
    height: usize,
    data: &[f32],
    lo: f32,
    hi: f32,
) -> Result<Vec<u8>> {
    if width == 0 || height == 0 || width > u32::MAX as usize || height > u32::MAX as usize {
        return Err(Error::Invalid(format!(
            "PNG picture: impossible size {width}×{height}"
        )));
    }
    if data.len() != width * height {
        return Err(Error::Invalid(format!(
            "PNG picture: {width}×{height} needs {} values, got {}",
            width * height,
            data.len()
        )));
    }
    let span = hi - lo;
    // A usable window is finite and positive; anything else draws flat grey.
    let flat = span.is_nan() || span <= 0.0 || span.is_infinite();
    let pixels: Vec<u8> = data
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                0
            } else if flat {
                128
            } else {
                (((v - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8
            }
        })
        .collect();
    let mut buf = Vec::new();
    let err = |e: png::EncodingError| Error::Invalid(format!("PNG picture: encoding failed: {e}"));
    {
        let mut enc = png::Encoder::new(&mut buf, width as u32, height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(err)?;
        w.write_image_data(&pixels).map_err(err)?;
        w.finish().map_err(err)?;
    }
    Ok(buf)
}

/// The `p_lo`-th and `p_hi`-th percentiles (0–100, nearest rank) of the finite values;
/// `(0, 0)` when there are none.
pub fn percentile_range(data: &[f32], p_lo: f32, p_hi: f32) -> (f32, f32) {
    let mut v: Vec<f32> = data.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (0.0, 0.0);
    }
    v.sort_unstable_by(f32::total_cmp);
    let at = |p: f32| {
        let r = (p.clamp(0.0, 100.0) / 100.0 * (v.len() - 1) as f32).round() as usize;
        v[r.min(v.len() - 1)]
    };
    (at(p_lo), at(p_hi))
}

/// Encodes with a 1st–99th percentile contrast window.
pub fn encode_png_auto(width: usize, height: usize, data: &[f32]) -> Result<Vec<u8>> {
    let (lo, hi) = percentile_range(data, 1.0, 99.0);
    encode_png_gray(width, height, data, lo, hi)
}

/// Averages `factor × factor` pixel blocks (the last partial blocks average what they have).
/// Returns the new picture and its size.
pub fn downsample_box(
    data: &[f32],
    width: usize,
    height: usize,
    factor: usize,
) -> (Vec<f32>, usize, usize) {
    let f = factor.max(1);
    let (w, h) = (width.div_ceil(f), height.div_ceil(f));
    let mut sum = vec![0.0f64; w * h];
    let mut n = vec![0u32; w * h];
    for y in 0..height {
        for x in 0..width {
            let v = data[y * width + x];
            if v.is_finite() {
                let i = (y / f) * w + x / f;
                sum[i] += v as f64;
                n[i] += 1;
            }
        }
    }
    let out = sum
        .iter()
        .zip(&n)
        .map(|(&s, &c)| {
            if c > 0 {
                (s / c as f64) as f32
            } else {
                f32::NAN
            }
        })
        .collect();
    (out, w, h)
}

/// The three central sections of a 32³ cube side by side, separated by one blank column:
/// XY at z = 16, XZ at y = 16 (rows = z), YZ at x = 16 (rows = z, columns = y).
/// Returns a `(3·32 + 2) × 32` picture; the gap columns hold NaN (drawn black).
pub fn cube_sections(cube: &[f32]) -> Result<(Vec<f32>, usize, usize)> {
    if cube.len() != CUBE_LEN {
        return Err(Error::Invalid(format!(
            "cube sections: a cube has {CUBE_LEN} values, got {}",
            cube.len()
        )));
    }
    let c = EDGE / 2;
    let w = 3 * EDGE + 2;
    let mut out = vec![f32::NAN; w * EDGE];
    let at = |x: usize, y: usize, z: usize| cube[(z * EDGE + y) * EDGE + x];
    for r in 0..EDGE {
        for q in 0..EDGE {
            out[r * w + q] = at(q, r, c);
            out[r * w + EDGE + 1 + q] = at(q, c, r);
            out[r * w + 2 * EDGE + 2 + q] = at(c, q, r);
        }
    }
    Ok((out, w, EDGE))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648), for `data:` URIs. Small enough not to warrant a
/// dependency.
pub fn base64(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                s.push(B64[(n >> shift & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// A `data:image/png;base64,…` URI.
pub fn png_data_uri(png: &[u8]) -> String {
    format!("data:image/png;base64,{}", base64(png))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (i, o) in cases {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn percentiles_and_bad_sizes() {
        let v: Vec<f32> = (0..101).map(|i| i as f32).collect();
        assert_eq!(percentile_range(&v, 1.0, 99.0), (1.0, 99.0));
        assert!(encode_png_gray(0, 3, &[], 0.0, 1.0).is_err());
        assert!(encode_png_gray(2, 2, &[0.0; 3], 0.0, 1.0).is_err());
        let png = encode_png_gray(2, 2, &[0.0, 1.0, f32::NAN, 0.5], 0.0, 1.0).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn downsampling_averages_blocks() {
        let v = [1.0, 3.0, 5.0, 5.0, 7.0, 9.0];
        let (d, w, h) = downsample_box(&v, 3, 2, 2);
        assert_eq!((w, h), (2, 1));
        assert_eq!(d, vec![4.0, 7.0]);
    }
}
