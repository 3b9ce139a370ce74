//! Score histograms as a PNG (the report's pictures, like the paper's Figs. 4–5).
use std::path::Path;

use misalign::host::{Error, Result};

const BINS: usize = 20;
const PANEL_W: usize = 240;
const PANEL_H: usize = 140;
const MARGIN: usize = 12;

/// Class colours: strong (red), weak (amber), aligned (green).
const COLOURS: [[u8; 3]; 3] = [[200, 50, 50], [220, 150, 30], [40, 150, 70]];

/// Fraction of `scores` in each of `BINS` equal bins over [0, 1].
pub fn histogram(scores: &[f32]) -> [f64; BINS] {
    let mut h = [0.0; BINS];
    for &s in scores {
        if s.is_finite() {
            let b = ((s.clamp(0.0, 1.0) * BINS as f32) as usize).min(BINS - 1);
            h[b] += 1.0;
        }
    }
    let n = scores.len().max(1) as f64;
    h.map(|c| c / n)
}

/// Writes a 2×3 grid: rows = strong / weak network, columns = strong / weak / aligned class.
/// Each panel is a bar chart of the score histogram, x = score 0…1, bars scaled to the panel's
/// tallest bin; a grey line marks 0.5.
pub fn write_histograms(path: &Path, strong: &[Vec<f32>; 3], weak: &[Vec<f32>; 3]) -> Result<()> {
    let width = 3 * PANEL_W + 4 * MARGIN;
    let height = 2 * PANEL_H + 3 * MARGIN;
    let mut rgb = vec![255u8; width * height * 3];
    for (row, sets) in [strong, weak].iter().enumerate() {
        for (col, scores) in sets.iter().enumerate() {
            let x0 = MARGIN + col * (PANEL_W + MARGIN);
            let y0 = MARGIN + row * (PANEL_H + MARGIN);
            draw_panel(&mut rgb, width, x0, y0, &histogram(scores), COLOURS[col]);
        }
    }
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, width as u32, height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .map_err(|e| Error::Invalid(format!("encoding {}: {e}", path.display())))?;
        w.write_image_data(&rgb)
            .map_err(|e| Error::Invalid(format!("encoding {}: {e}", path.display())))?;
    }
    misalign::host::fsutil::write_atomic(path, &bytes)
}

fn draw_panel(rgb: &mut [u8], width: usize, x0: usize, y0: usize, h: &[f64; BINS], c: [u8; 3]) {
    let mut put = |x: usize, y: usize, col: [u8; 3]| {
        let i = 3 * (y * width + x);
        rgb[i..i + 3].copy_from_slice(&col);
    };
    // Frame.
    for x in x0..x0 + PANEL_W {
        put(x, y0, [0; 3]);
        put(x, y0 + PANEL_H - 1, [0; 3]);
    }
    for y in y0..y0 + PANEL_H {
        put(x0, y, [0; 3]);
        put(x0 + PANEL_W - 1, y, [0; 3]);
        put(x0 + PANEL_W / 2, y, [170; 3]);
    }
    let top = h.iter().cloned().fold(0.0, f64::max);
    if top <= 0.0 {
        return;
    }
    let bar_w = (PANEL_W - 2) / BINS;
    for (b, &v) in h.iter().enumerate() {
        let bar_h = ((v / top) * (PANEL_H - 4) as f64).round() as usize;
        for dx in 1..bar_w {
            for dy in 0..bar_h {
                put(x0 + 1 + b * bar_w + dx, y0 + PANEL_H - 2 - dy, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bins_and_normalises() {
        let h = histogram(&[0.0, 0.04, 0.5, 0.99, 1.0, f32::NAN]);
        assert_eq!(h[0], 2.0 / 6.0);
        assert_eq!(h[10], 1.0 / 6.0);
        assert_eq!(h[19], 2.0 / 6.0);
        assert!((h.iter().sum::<f64>() - 5.0 / 6.0).abs() < 1e-12);
    }
}
