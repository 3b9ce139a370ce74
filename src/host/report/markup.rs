//! Markup helpers shared by the HTML page and its SVG charts, so that neither imports the other.

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Colour of a score: red (0) through yellow to green (1); grey for non-finite scores.
pub fn score_colour(s: f32) -> String {
    if !s.is_finite() {
        return "#888888".into();
    }
    let hue = 120.0 * s.clamp(0.0, 1.0);
    format!("hsl({hue:.0},85%,45%)")
}
