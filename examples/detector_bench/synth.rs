//! A procedural tomogram (no file, no whole volume in memory): hashed noise, a dark slab-shaped
//! specimen with smooth density, and dark beads of diameter `d` elongated 1.4× along Z.
use misalign::host::{Result, SliceSource};

/// Synthetic tomogram generated slice by slice on demand.
pub struct Synthetic {
    pub dims: [usize; 3],
    pub beads: Vec<[f64; 3]>,
    pub d: f64,
    pub noise: f32,
}

fn hash(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Synthetic {
    /// `n` beads at hashed positions, 2.5 D apart, inside the central half of Z.
    pub fn new(dims: [usize; 3], n: usize, d: f64, noise: f32) -> Self {
        let mut beads: Vec<[f64; 3]> = Vec::new();
        let mut i = 0u64;
        while beads.len() < n && i < 100_000 {
            let h = |k: u64| (hash(i * 3 + k) >> 11) as f64 / (1u64 << 53) as f64;
            let m = 24.0;
            let p = [
                m + h(0) * (dims[0] as f64 - 2.0 * m),
                m + h(1) * (dims[1] as f64 - 2.0 * m),
                dims[2] as f64 * (0.25 + 0.5 * h(2)),
            ];
            if beads
                .iter()
                .all(|q| (0..3).map(|a| (p[a] - q[a]).powi(2)).sum::<f64>() > (2.5 * d).powi(2))
            {
                beads.push(p);
            }
            i += 1;
        }
        Synthetic {
            dims,
            beads,
            d,
            noise,
        }
    }
}

impl SliceSource for Synthetic {
    fn dims(&self) -> [usize; 3] {
        self.dims
    }

    fn voxel_size(&self) -> [f32; 3] {
        [10.0; 3]
    }

    fn read_slice(&self, z: usize, out: &mut [f32]) -> Result<()> {
        let [nx, ny, nz] = self.dims;
        let base = (z * nx * ny) as u64;
        // Specimen slab in the middle third of Z is slightly denser (darker).
        let slab = if z > nz / 3 && z < 2 * nz / 3 {
            -0.2f32
        } else {
            0.0
        };
        for (i, o) in out.iter_mut().enumerate() {
            let h = hash(base + i as u64);
            // Sum of two uniforms: a cheap, roughly bell-shaped noise of unit variance.
            let u1 = (h & 0xFFFF_FFFF) as f32 / 4_294_967_296.0;
            let u2 = (h >> 32) as f32 / 4_294_967_296.0;
            *o = 5.0 + slab + self.noise * (u1 + u2 - 1.0) * 2.449;
        }
        let r = self.d / 2.0;
        for b in &self.beads {
            let dz = (z as f64 - b[2]) / 1.4;
            if dz.abs() > r + 2.0 {
                continue;
            }
            let ext = (r + 3.0).ceil() as isize;
            for y in (b[1] as isize - ext).max(0)..(b[1] as isize + ext).min(ny as isize) {
                for x in (b[0] as isize - ext).max(0)..(b[0] as isize + ext).min(nx as isize) {
                    let (dx, dy) = (x as f64 - b[0], y as f64 - b[1]);
                    let rr = (dx * dx + dy * dy + dz * dz).sqrt();
                    out[y as usize * nx + x as usize] -=
                        (2.0 / (1.0 + ((rr - r) / 0.7).exp())) as f32;
                }
            }
        }
        Ok(())
    }
}
