//! Dark-outlier regions of one slice: 8-connected labelling and per-region statistics.
//!
//! A pixel belongs to the mask where its value is strictly below the threshold. Regions are
//! found by a breadth-first flood fill started at each unlabelled mask pixel in raster order
//! (y outer, x inner), so labels are numbered like the original's. The fill queue is a
//! caller-provided buffer; after a region is filled it holds exactly that region's pixels,
//! which the statistics use without any heap.

// Index loops read like the geometry they implement.
#![allow(clippy::needless_range_loop)]

/// Labels (u32) and queue entries (u32) [`label_regions`] needs for an `nx × ny` slice.
pub const fn buffer_len(nx: usize, ny: usize) -> usize {
    nx * ny
}

/// Statistics of one connected region.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Region {
    /// 1-based label, in raster order of the region's first pixel.
    pub label: u32,
    /// Pixel count.
    pub area: usize,
    /// Centroid (mean pixel coordinate), not truncated.
    pub cx: f64,
    pub cy: f64,
    /// Radius of the minimum enclosing circle of the pixel centres (0 for one pixel).
    pub mec_radius: f64,
    /// area / (π · mec_radius²), the paper's circularity; +∞ when the radius is 0.
    pub circularity: f64,
}

/// Labels the pixels of `values` (`nx * ny`) below `threshold` and calls `on_region` once per
/// 8-connected region, in label order. `labels` and `queue` need [`buffer_len`] entries each;
/// `labels` holds the label image afterwards (0 = background). Returns the number of regions.
/// Regions smaller than `min_area` pixels are reported with `mec_radius = circularity = 0`
/// (their enclosing circle is not computed).
#[allow(clippy::too_many_arguments)]
pub fn label_regions(
    values: &[f32],
    nx: usize,
    ny: usize,
    threshold: f32,
    min_area: usize,
    labels: &mut [u32],
    queue: &mut [u32],
    mut on_region: impl FnMut(&Region),
) -> Result<u32, super::KernelError> {
    let len = buffer_len(nx, ny);
    if values.len() != len || labels.len() < len || queue.len() < len || len > u32::MAX as usize {
        return Err(super::KernelError::BufferSize);
    }
    labels[..len].iter_mut().for_each(|l| *l = 0);
    let mut next = 0u32;
    for start in 0..len {
        if labels[start] != 0 || values[start] >= threshold || values[start].is_nan() {
            continue;
        }
        next += 1;
        labels[start] = next;
        queue[0] = start as u32;
        let (mut head, mut tail) = (0usize, 1usize);
        let (mut sx, mut sy) = (0u64, 0u64);
        while head < tail {
            let p = queue[head] as usize;
            head += 1;
            let (x, y) = (p % nx, p / nx);
            sx += x as u64;
            sy += y as u64;
            let y0 = y.saturating_sub(1);
            let y1 = (y + 1).min(ny - 1);
            let x0 = x.saturating_sub(1);
            let x1 = (x + 1).min(nx - 1);
            for yy in y0..=y1 {
                for xx in x0..=x1 {
                    let q = yy * nx + xx;
                    if labels[q] == 0 && values[q] < threshold {
                        labels[q] = next;
                        queue[tail] = q as u32;
                        tail += 1;
                    }
                }
            }
        }
        let area = tail;
        let (mec_radius, circularity) = if area >= min_area {
            let r = min_enclosing_radius(&mut queue[..area], nx);
            let c = if r > 0.0 {
                area as f64 / (core::f64::consts::PI * r * r)
            } else {
                f64::INFINITY
            };
            (r, c)
        } else {
            (0.0, 0.0)
        };
        on_region(&Region {
            label: next,
            area,
            cx: sx as f64 / area as f64,
            cy: sy as f64 / area as f64,
            mec_radius,
            circularity,
        });
    }
    Ok(next)
}

#[inline]
fn point(p: u32, nx: usize) -> (f64, f64) {
    ((p as usize % nx) as f64, (p as usize / nx) as f64)
}

/// Radius of the minimum enclosing circle of the pixel centres listed in `pixels`
/// (linear indices, reordered in place). Welzl's incremental algorithm on a fixed-seed
/// shuffled order: expected linear time, deterministic output.
pub fn min_enclosing_radius(pixels: &mut [u32], nx: usize) -> f64 {
    let n = pixels.len();
    if n < 2 {
        return 0.0;
    }
    // Fixed-seed Fisher–Yates (xorshift64*): the expected-linear-time guarantee needs a
    // random order, the reproducibility needs a fixed one.
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..n).rev() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        let j = (s.wrapping_mul(0x2545_F491_4F6C_DD1D) % (i as u64 + 1)) as usize;
        pixels.swap(i, j);
    }
    const EPS: f64 = 1e-9;
    let inside = |c: (f64, f64), r2: f64, p: (f64, f64)| {
        let (dx, dy) = (p.0 - c.0, p.1 - c.1);
        dx * dx + dy * dy <= r2 + EPS
    };
    let mut c = point(pixels[0], nx);
    let mut r2 = 0.0;
    for i in 1..n {
        let pi = point(pixels[i], nx);
        if inside(c, r2, pi) {
            continue;
        }
        c = pi;
        r2 = 0.0;
        for j in 0..i {
            let pj = point(pixels[j], nx);
            if inside(c, r2, pj) {
                continue;
            }
            c = ((pi.0 + pj.0) / 2.0, (pi.1 + pj.1) / 2.0);
            r2 = dist2(c, pi);
            for k in 0..j {
                let pk = point(pixels[k], nx);
                if inside(c, r2, pk) {
                    continue;
                }
                c = circumcentre(pi, pj, pk).unwrap_or_else(|| widest_pair(pi, pj, pk));
                r2 = dist2(c, pi).max(dist2(c, pj)).max(dist2(c, pk));
            }
        }
    }
    libm::sqrt(r2)
}

#[inline]
fn dist2(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0) * (a.0 - b.0) + (a.1 - b.1) * (a.1 - b.1)
}

fn circumcentre(a: (f64, f64), b: (f64, f64), c: (f64, f64)) -> Option<(f64, f64)> {
    let d = 2.0 * (a.0 * (b.1 - c.1) + b.0 * (c.1 - a.1) + c.0 * (a.1 - b.1));
    if d.abs() < 1e-12 {
        return None;
    }
    let (a2, b2, c2) = (
        a.0 * a.0 + a.1 * a.1,
        b.0 * b.0 + b.1 * b.1,
        c.0 * c.0 + c.1 * c.1,
    );
    Some((
        (a2 * (b.1 - c.1) + b2 * (c.1 - a.1) + c2 * (a.1 - b.1)) / d,
        (a2 * (c.0 - b.0) + b2 * (a.0 - c.0) + c2 * (b.0 - a.0)) / d,
    ))
}

/// Centre of the circle on the farthest pair of three collinear points.
fn widest_pair(a: (f64, f64), b: (f64, f64), c: (f64, f64)) -> (f64, f64) {
    let mid = |p: (f64, f64), q: (f64, f64)| ((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0);
    let (ab, ac, bc) = (dist2(a, b), dist2(a, c), dist2(b, c));
    if ab >= ac && ab >= bc {
        mid(a, b)
    } else if ac >= bc {
        mid(a, c)
    } else {
        mid(b, c)
    }
}
