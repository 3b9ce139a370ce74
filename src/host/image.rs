//! Grey-scale PNG output for looking at slices (simulator pictures, reports).
use std::path::Path;

use super::fsutil::write_atomic_with;
use super::{Error, Result};

/// Writes `width × height` values (row-major, first row at the top) as an 8-bit grey PNG,
/// mapping `lo` to black and `hi` to white (values outside are clipped). Atomic.
pub fn write_png_gray(
    path: &Path,
    width: usize,
    height: usize,
    values: &[f32],
    lo: f32,
    hi: f32,
) -> Result<()> {
    let pixels = gray_bytes(width, height, values, lo, hi)
        .map_err(|m| Error::Invalid(format!("writing {}: {m}", path.display())))?;
    let (w, h) = (width as u32, height as u32);
    write_atomic_with(path, |out| {
        let mut enc = png::Encoder::new(out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(&pixels)
            .map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })
}

/// The 8-bit grey levels `write_png_gray` stores.
pub fn gray_bytes(
    width: usize,
    height: usize,
    values: &[f32],
    lo: f32,
    hi: f32,
) -> std::result::Result<Vec<u8>, String> {
    if width == 0 || height == 0 || width > u32::MAX as usize || height > u32::MAX as usize {
        return Err(format!("image size {width}×{height} is not writable"));
    }
    if width.checked_mul(height) != Some(values.len()) {
        return Err(format!(
            "{width}×{height} image needs {} values, got {}",
            width * height,
            values.len()
        ));
    }
    if !lo.is_finite() || !hi.is_finite() || hi <= lo {
        return Err(format!(
            "grey range must be finite with lo < hi, got {lo}..{hi}"
        ));
    }
    let k = 255.0 / (hi - lo);
    Ok(values
        .iter()
        .map(|&v| {
            if v.is_nan() {
                0
            } else {
                ((v - lo) * k).round().clamp(0.0, 255.0) as u8
            }
        })
        .collect())
}

/// Percentile-based grey range (`p` and `1 − p` quantiles) of finite values, so a few extreme
/// voxels (gold) do not wash out the rest. Falls back to `(v − 1, v + 1)` for flat data.
pub fn auto_range(values: &[f32], p: f32) -> (f32, f32) {
    let mut v: Vec<f32> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let q = |f: f32| v[((v.len() - 1) as f32 * f.clamp(0.0, 1.0)).round() as usize];
    let (lo, hi) = (q(p), q(1.0 - p));
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, lo + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_and_clips() {
        let b = gray_bytes(2, 2, &[0.0, 0.5, 1.0, 2.0], 0.0, 1.0).unwrap();
        assert_eq!(b, vec![0, 128, 255, 255]);
        assert!(gray_bytes(2, 2, &[0.0; 3], 0.0, 1.0).is_err());
        assert!(gray_bytes(2, 2, &[0.0; 4], 1.0, 1.0).is_err());
    }

    #[test]
    fn round_trip_through_the_png_decoder() {
        let dir = std::env::temp_dir().join(format!("misalign-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.png");
        let vals: Vec<f32> = (0..12).map(|i| i as f32).collect();
        write_png_gray(&p, 4, 3, &vals, 0.0, 11.0).unwrap();
        let dec = png::Decoder::new(std::fs::File::open(&p).unwrap());
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (4, 3));
        assert_eq!(&buf[..12], &gray_bytes(4, 3, &vals, 0.0, 11.0).unwrap()[..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
