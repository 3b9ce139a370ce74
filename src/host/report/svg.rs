//! Inline SVG pieces of the HTML report: score histograms and the bead map over a slice.
use std::fmt::Write;

use super::markup::{escape, score_colour};

/// A 20-bin histogram of `scores` over [0, 1] (values outside go to the end bins), with a dashed
/// line at `threshold`.
pub fn histogram(title: &str, scores: &[f32], threshold: Option<f32>) -> String {
    const BINS: usize = 20;
    let (w, h, pad) = (320.0f32, 150.0f32, 24.0f32);
    let mut counts = [0usize; BINS];
    let mut finite = 0;
    for &s in scores.iter().filter(|s| s.is_finite()) {
        let b = ((s.clamp(0.0, 1.0) * BINS as f32) as usize).min(BINS - 1);
        counts[b] += 1;
        finite += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="hist" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>{}</title>"#,
        escape(title)
    );
    let _ = write!(
        s,
        r#"<text x="{pad}" y="14" font-size="12">{} ({finite} beads, max bin {max})</text>"#,
        escape(title)
    );
    let (x0, y0, pw, ph) = (pad, h - pad, w - 2.0 * pad, h - 2.0 * pad - 6.0);
    let bw = pw / BINS as f32;
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let bh = ph * c as f32 / max as f32;
        let centre = (i as f32 + 0.5) / BINS as f32;
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{}"><title>{:.2}–{:.2}: {c}</title></rect>"#,
            x0 + i as f32 * bw + 0.5,
            y0 - bh,
            bw - 1.0,
            score_colour(centre),
            i as f32 / BINS as f32,
            (i + 1) as f32 / BINS as f32
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{x0}" y1="{y0}" x2="{}" y2="{y0}" stroke="#333"/>"##,
        x0 + pw
    );
    for (t, label) in [(0.0, "0"), (0.5, "0.5"), (1.0, "1")] {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" font-size="11" text-anchor="middle">{label}</text>"#,
            x0 + t * pw,
            y0 + 14.0
        );
    }
    if let Some(t) = threshold.filter(|t| t.is_finite()) {
        let x = x0 + t.clamp(0.0, 1.0) * pw;
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{y0}" stroke="#000" stroke-dasharray="4 3"><title>threshold {t}</title></line>"##,
            y0 - ph
        );
    }
    if finite == 0 {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" font-size="12" text-anchor="middle">no scores</text>"#,
            w / 2.0,
            h / 2.0
        );
    }
    s.push_str("</svg>");
    s
}

/// One bead on the map.
pub struct MapBead {
    pub x: f64,
    pub y: f64,
    pub score: f32,
    pub label: String,
}

/// The slice picture (a data URI of `img_w × img_h` pixels, each `scale` voxels wide) in a
/// `nx × ny` voxel viewBox, with one circle of radius `radius` voxels per bead.
pub fn bead_map(
    png_uri: &str,
    dims: [usize; 2],
    img: [usize; 2],
    scale: usize,
    radius: f64,
    beads: &[MapBead],
) -> String {
    let [nx, ny] = dims;
    // Readable whatever the tomogram size: 400 to 900 CSS pixels wide.
    let display_w = nx.clamp(400, 900);
    let display_h = (ny as f64 * display_w as f64 / nx as f64).round() as usize;
    let stroke = (nx.max(ny) as f64 / 300.0).max(1.0);
    let r = radius.max(nx.max(ny) as f64 / 150.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="map" xmlns="http://www.w3.org/2000/svg" width="{display_w}" height="{display_h}" viewBox="0 0 {nx} {ny}"><image x="0" y="0" width="{}" height="{}" preserveAspectRatio="none" style="image-rendering:pixelated" href="{png_uri}"/>"#,
        img[0] * scale,
        img[1] * scale
    );
    for b in beads {
        let _ = write!(
            s,
            r#"<circle cx="{:.2}" cy="{:.2}" r="{r:.2}" fill="none" stroke="{}" stroke-width="{stroke:.2}"><title>{}</title></circle>"#,
            b.x + 0.5,
            b.y + 0.5,
            score_colour(b.score),
            escape(&b.label)
        );
    }
    s.push_str("</svg>");
    s
}
