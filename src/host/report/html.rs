//! `report.html`: one self-contained page (pictures as PNG data URIs, charts as inline SVG).
use std::fmt::Write;

use super::image::{cube_sections, downsample_box, encode_png_auto, png_data_uri};
use super::markup::{escape, score_colour};
use super::svg::{bead_map, histogram, MapBead};
use super::Pictures;
use crate::decide::Verdict;
use crate::host::check::{BeadResult, TomogramResult};
use crate::host::Result;
use crate::net::topology::CUBE_LEN;

/// Thumbnails shown at each end of the score ranking when there are more than twice as many
/// beads.
pub const THUMBS_PER_END: usize = 24;
/// Longest edge of the embedded slice picture; larger slices are box-averaged down.
pub const MAP_MAX_PIXELS: usize = 1024;

/// The banner colour of a verdict (its words are [`Verdict::headline`]).
fn verdict_colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Aligned => "#1a8f2e",
        Verdict::Weak => "#d98200",
        Verdict::Strong => "#c62828",
        Verdict::Undetermined => "#666666",
    }
}

fn opt(v: Option<f32>) -> String {
    v.map_or_else(|| "–".into(), |x| format!("{x:.3}"))
}

/// The score that colours a bead: the weak score where the weak network ran, else the strong.
fn colour_score(b: &BeadResult) -> f32 {
    b.weak.unwrap_or(b.strong)
}

/// The whole page.
pub fn page(r: &TomogramResult, pics: Option<&Pictures>) -> Result<String> {
    let d = &r.decision;
    let (word, colour) = (d.verdict.headline(), verdict_colour(d.verdict));
    let name = r.tomogram.file_name().map_or_else(
        || r.tomogram.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>misalign: {} – {}</title><style>{}</style></head><body>\n",
        escape(&name),
        d.verdict.as_str(),
        CSS
    );
    let _ = writeln!(
        s,
        "<h1>{}</h1>\n<div class=\"verdict\" style=\"color:{colour}\" data-verdict=\"{}\">{word}</div>",
        escape(&name),
        d.verdict.as_str()
    );
    for w in &r.warnings {
        let _ = writeln!(s, "<p class=\"warning\">Warning: {}</p>", escape(w));
    }
    numbers(&mut s, r);
    let weak = d.weak.is_some();
    let strong: Vec<f32> = r.beads.iter().map(|b| b.strong).collect();
    let weak_scores: Vec<f32> = r.beads.iter().filter_map(|b| b.weak).collect();
    s.push_str("<h2>Scores</h2>\n<div class=\"row\">");
    let strong_cut = match r.criterion {
        crate::decide::Criterion::Mean => "mean must exceed 0.5",
        crate::decide::Criterion::Votes => "more than half must exceed 0.5",
    };
    s.push_str(&histogram(
        &format!("strong network ({strong_cut})"),
        &strong,
        Some(0.5),
    ));
    if weak {
        s.push_str(&histogram(
            "weak network",
            &weak_scores,
            r.threshold.or(Some(0.5)),
        ));
    } else {
        s.push_str("<p class=\"note\">The weak network was not run.</p>");
    }
    s.push_str("</div>\n");
    if let Some(p) = pics {
        map_section(&mut s, r, p)?;
        thumbnails(&mut s, r, p)?;
    } else {
        s.push_str("<p class=\"note\">No pictures were requested.</p>\n");
    }
    let _ = writeln!(
        s,
        "<footer>misalign {} · {:.1} s · colours: red = low score (misaligned), green = high \
         (aligned)</footer>\n</body></html>",
        escape(&r.version),
        r.elapsed_s
    );
    Ok(s)
}

fn numbers(s: &mut String, r: &TomogramResult) {
    let d = &r.decision;
    let n = r.beads.len();
    let rows: Vec<(&str, String)> = vec![
        ("Tomogram", r.tomogram.display().to_string()),
        (
            "Size (voxels)",
            format!("{} × {} × {}", r.dims[0], r.dims[1], r.dims[2]),
        ),
        ("Sampling", format!("{} Å/voxel", r.sampling_a)),
        ("Bead diameter", format!("{} Å", r.bead_diameter_a)),
        ("Cube sampling", format!("{:.3} Å/voxel", r.cube_sampling_a)),
        ("Coordinates", r.coords_source.clone()),
        ("Beads scored", n.to_string()),
        ("Beads skipped at the border", r.n_skipped.to_string()),
        ("Criterion", r.criterion.as_str().to_string()),
        (
            "Weak threshold",
            r.threshold.map_or("none".into(), |t| t.to_string()),
        ),
        ("Strong mean", opt(d.strong.map(|x| x.mean))),
        (
            "Strong votes (> 0.5)",
            format!("{} of {n}", d.strong.map_or(0, |x| x.votes)),
        ),
        ("Weak mean", opt(d.weak.map(|x| x.mean))),
        (
            "Weak votes (> 0.5)",
            d.weak
                .map_or_else(|| "–".into(), |x| format!("{} of {n}", x.votes)),
        ),
        ("Strong weights", r.weights[0].clone()),
        ("Weak weights", r.weights[1].clone()),
    ];
    s.push_str("<table class=\"numbers\">\n");
    for (k, v) in rows {
        let _ = writeln!(s, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(&v));
    }
    s.push_str("</table>\n");
}

fn map_section(s: &mut String, r: &TomogramResult, p: &Pictures) -> Result<()> {
    let [nx, ny] = p.slice_dims;
    let scale = nx.max(ny).div_ceil(MAP_MAX_PIXELS).max(1);
    let (small, w, h) = downsample_box(p.central_slice, nx, ny, scale);
    let uri = png_data_uri(&encode_png_auto(w, h, &small)?);
    let radius = if r.sampling_a > 0.0 {
        (r.bead_diameter_a / r.sampling_a / 2.0) as f64
    } else {
        4.0
    };
    let beads: Vec<MapBead> = r
        .beads
        .iter()
        .map(|b| MapBead {
            x: b.position[0],
            y: b.position[1],
            score: colour_score(b),
            label: bead_label(b),
        })
        .collect();
    let _ = writeln!(
        s,
        "<h2>Bead map</h2>\n<p class=\"note\">XY slice z = {} (rows top to bottom = y). Every \
         bead is drawn, whatever its z, coloured by its {} score.</p>",
        p.slice_z,
        if r.decision.weak.is_some() {
            "weak"
        } else {
            "strong"
        }
    );
    s.push_str(&bead_map(&uri, [nx, ny], [w, h], scale, radius, &beads));
    s.push('\n');
    Ok(())
}

fn bead_label(b: &BeadResult) -> String {
    let [x, y, z] = b.position;
    let weak = b.weak.map_or(String::new(), |w| format!(" weak {w:.3}"));
    format!(
        "#{} ({x:.1}, {y:.1}, {z:.1}) strong {:.3}{weak}",
        b.input_index, b.strong
    )
}

fn thumbnails(s: &mut String, r: &TomogramResult, p: &Pictures) -> Result<()> {
    let n = r.beads.len();
    if n == 0 {
        s.push_str("<h2>Bead cubes</h2>\n<p class=\"note\">No bead was scored.</p>\n");
        return Ok(());
    }
    if p.cubes.is_empty() {
        let _ = writeln!(
            s,
            "<h2>Bead cubes</h2>\n<p class=\"note\">The cubes of {n} beads were scored in \
             batches and not kept.</p>"
        );
        return Ok(());
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| colour_score(&r.beads[a]).total_cmp(&colour_score(&r.beads[b])));
    let shown: Vec<usize> = if n > 2 * THUMBS_PER_END {
        order[..THUMBS_PER_END]
            .iter()
            .chain(&order[n - THUMBS_PER_END..])
            .copied()
            .collect()
    } else {
        order
    };
    let _ = writeln!(
        s,
        "<h2>Bead cubes</h2>\n<p class=\"note\">Central XY, XZ and YZ sections of each network \
         cube, lowest score first.{}</p>\n<div class=\"thumbs\">",
        if n > shown.len() {
            format!(
                " Showing the {THUMBS_PER_END} lowest- and {THUMBS_PER_END} highest-scoring \
                 beads; {} omitted.",
                n - shown.len()
            )
        } else {
            String::new()
        }
    );
    for &k in &shown {
        let b = &r.beads[k];
        let (img, w, h) = cube_sections(&p.cubes[k * CUBE_LEN..(k + 1) * CUBE_LEN])?;
        let uri = png_data_uri(&encode_png_auto(w, h, &img)?);
        let _ = writeln!(
            s,
            "<figure style=\"border-color:{}\"><img src=\"{uri}\" width=\"{}\" height=\"{}\" \
             alt=\"bead {}\"><figcaption>{}</figcaption></figure>",
            score_colour(colour_score(b)),
            3 * w,
            3 * h,
            b.input_index,
            escape(&bead_label(b))
        );
    }
    s.push_str("</div>\n");
    Ok(())
}

const CSS: &str = "body{font-family:sans-serif;margin:2em;max-width:1000px}\
.verdict{font-size:3em;font-weight:bold;margin:.3em 0}\
table.numbers{border-collapse:collapse}table.numbers th{text-align:left;padding:2px 12px 2px 0;\
font-weight:normal;color:#555}table.numbers td{font-family:monospace}\
.row{display:flex;gap:2em;flex-wrap:wrap}.note{color:#555}\
.warning{background:#fff4e0;border-left:4px solid #d98200;padding:.4em .8em}\
.thumbs{display:flex;flex-wrap:wrap;gap:6px}figure{margin:0;border:3px solid;padding:2px}\
figure img{image-rendering:pixelated;display:block}figcaption{font-size:10px;max-width:294px}\
footer{margin-top:2em;color:#777;font-size:small}";
