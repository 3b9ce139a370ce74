//! Back-projection of filtered images into an output grid, with linear interpolation along u.
use super::filter::Filtered;

/// The output grid: voxel (i, j, k) sits at `origin + (i, j, k)·sampling` in field coordinates.
#[derive(Clone, Copy, Debug)]
pub struct Grid {
    pub dims: [usize; 3],
    pub sampling: f32,
    pub origin: [f32; 3],
}

impl Grid {
    /// The span of `u = x cos θ + z sin θ` over the grid's voxel centres (Å).
    pub fn u_span(&self, theta: f32) -> (f32, f32) {
        let (s, c) = theta.sin_cos();
        let mut lo = f32::INFINITY;
        let mut hi = f32::NEG_INFINITY;
        for i in [0, self.dims[0] - 1] {
            for k in [0, self.dims[2] - 1] {
                let x = self.origin[0] + i as f32 * self.sampling;
                let z = self.origin[2] + k as f32 * self.sampling;
                let u = x * c + z * s;
                lo = lo.min(u);
                hi = hi.max(u);
            }
        }
        (lo, hi)
    }
}

/// Adds the back-projection of every `(theta, image)` into the z-slices `k0..k0 + n` of the
/// grid; `out` holds exactly those slices (x fastest). Images use the *nominal* angles.
pub fn backproject(grid: &Grid, views: &[(f32, &Filtered)], k0: usize, out: &mut [f32]) {
    let [nx, ny, _] = grid.dims;
    let plane = nx * ny;
    let nk = out.len() / plane;
    let mut idx = vec![0u32; views.len() * nx];
    let mut frac = vec![0.0f32; views.len() * nx];
    for kk in 0..nk {
        let z = grid.origin[2] + (k0 + kk) as f32 * grid.sampling;
        for (t, (theta, f)) in views.iter().enumerate() {
            let (s, c) = theta.sin_cos();
            // Pixel coordinate of voxel i: (x_i cos θ + z sin θ − u0) / pixel.
            let a = (grid.origin[0] * c + z * s - f.u0) / grid.sampling;
            for i in 0..nx {
                let p = a + i as f32 * c;
                let p0 = p.floor();
                // The window always covers the grid (plus margin); clamp defensively.
                let pi = (p0.max(0.0) as usize).min(f.nu.saturating_sub(2));
                idx[t * nx + i] = pi as u32;
                frac[t * nx + i] = (p - pi as f32).clamp(0.0, 1.0);
            }
        }
        let slab = &mut out[kk * plane..(kk + 1) * plane];
        for (j, orow) in slab.chunks_mut(nx).enumerate() {
            for (t, (_, f)) in views.iter().enumerate() {
                let row = &f.data[j * f.nu..(j + 1) * f.nu];
                let id = &idx[t * nx..(t + 1) * nx];
                let fr = &frac[t * nx..(t + 1) * nx];
                for ((o, &p), &w) in orow.iter_mut().zip(id).zip(fr) {
                    let p = p as usize;
                    let a = row[p];
                    let b = row[p + 1];
                    *o += a + (b - a) * w;
                }
            }
        }
    }
}
