//! The in-plane Laplacian that sharpens the band-passed slice: centre +8, 4-neighbours −2
//! (−2 × the 5-point Laplacian), so a dark blob stays negative.
//!
//! Unlike the original, which left the one-pixel frame at its band-passed value, the frame is
//! filtered too, with neighbours outside the slice replaced by the nearest edge pixel.

/// Scratch (f32 values) that [`apply`] needs for a slice `nx` wide.
pub const fn scratch_len(nx: usize) -> usize {
    2 * nx
}

/// Replaces `slice` (`nx * ny`, row-major) by its Laplacian, in place.
pub fn apply(
    slice: &mut [f32],
    nx: usize,
    ny: usize,
    scratch: &mut [f32],
) -> Result<(), super::KernelError> {
    if nx == 0 || ny == 0 || slice.len() != nx * ny || scratch.len() < scratch_len(nx) {
        return Err(super::KernelError::BufferSize);
    }
    let (mut prev, mut cur) = scratch[..2 * nx].split_at_mut(nx);
    // `prev` holds the unmodified row above, `cur` the unmodified current row; the row below
    // is still unmodified in `slice`. Edge neighbours replicate the nearest pixel.
    prev.copy_from_slice(&slice[..nx]);
    for y in 0..ny {
        cur.copy_from_slice(&slice[y * nx..(y + 1) * nx]);
        let (head, tail) = slice.split_at_mut((y + 1) * nx);
        let out = &mut head[y * nx..];
        let below: &[f32] = if y + 1 < ny { &tail[..nx] } else { cur };
        let at = |x: usize, l: usize, r: usize| {
            8.0 * cur[x] - 2.0 * (cur[l] + cur[r] + prev[x] + below[x])
        };
        if nx == 1 {
            out[0] = at(0, 0, 0);
        } else {
            out[0] = at(0, 0, 1);
            out[nx - 1] = at(nx - 1, nx - 2, nx - 1);
            // Interior: equal-length slices so the loop vectorises.
            let n = nx - 2;
            let (l, c, r) = (&cur[..n], &cur[1..n + 1], &cur[2..]);
            let (u, d) = (&prev[1..n + 1], &below[1..n + 1]);
            for (i, o) in out[1..n + 1].iter_mut().enumerate() {
                *o = 8.0 * c[i] - 2.0 * (l[i] + r[i] + u[i] + d[i]);
            }
        }
        // The current row is the next one's row above: swap the buffers, no copy.
        core::mem::swap(&mut prev, &mut cur);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_stencil_inside_and_replicates_at_edges() {
        let (nx, ny) = (4, 3);
        let v: [f32; 12] = [1., 2., 3., 4., 5., 6., 7., 8., 9., 10., 12., 15.];
        let mut s = v;
        let mut scr = [0.0; 8];
        apply(&mut s, nx, ny, &mut scr).unwrap();
        let at = |x: isize, y: isize| {
            let xc = x.clamp(0, nx as isize - 1) as usize;
            let yc = y.clamp(0, ny as isize - 1) as usize;
            v[yc * nx + xc]
        };
        for y in 0..ny as isize {
            for x in 0..nx as isize {
                let e = 8.0 * at(x, y)
                    - 2.0 * (at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1));
                assert_eq!(s[y as usize * nx + x as usize], e, "at {x},{y}");
            }
        }
        // A constant slice maps to zero everywhere, frame included.
        let mut c = [3.5f32; 12];
        apply(&mut c, nx, ny, &mut scr).unwrap();
        assert!(c.iter().all(|&v| v == 0.0));
    }
}
