//! A tomogram seen b× binned (mean of b×b×b voxel blocks), so the detector can work on beads of
//! about 10 px even in unbinned data: every stage (band-pass, box-sized filters, FFT sizes)
//! then sees the bead size it is tuned for, at 1/b³ of the work and memory.
use std::sync::Mutex;

use crate::host::alloc::zeroed;
use crate::host::{Error, Result, SliceSource};

/// `inner` binned by `b` in x, y and z. Voxels past the last whole block are left out.
pub struct Binned<'a> {
    inner: &'a dyn SliceSource,
    b: usize,
    /// Full-resolution slice buffers, reused across reads (a slice of an unbinned 4k
    /// tomogram is 64 MiB: too large to allocate per read).
    spare: Mutex<Vec<Vec<f32>>>,
}

impl<'a> Binned<'a> {
    pub fn new(inner: &'a dyn SliceSource, b: usize) -> Self {
        Binned {
            inner,
            b: b.max(1),
            spare: Mutex::new(Vec::new()),
        }
    }

    /// The full-resolution position of binned position `p` (the centre of its block).
    pub fn unbin(&self, p: [f64; 3]) -> [f64; 3] {
        let b = self.b as f64;
        p.map(|v| v * b + (b - 1.0) / 2.0)
    }
}

impl SliceSource for Binned<'_> {
    fn dims(&self) -> [usize; 3] {
        self.inner.dims().map(|n| n / self.b)
    }

    fn voxel_size(&self) -> [f32; 3] {
        self.inner.voxel_size().map(|v| v * self.b as f32)
    }

    fn read_slice(&self, z: usize, out: &mut [f32]) -> Result<()> {
        let [nx, ny, _] = self.inner.dims();
        let [bx, by, bz] = self.dims();
        if z >= bz || out.len() != bx * by {
            return Err(Error::Invalid(format!(
                "binned slice {z} / buffer of {} does not fit a {bx}×{by}×{bz} volume",
                out.len()
            )));
        }
        let b = self.b;
        let mut buf = self
            .spare
            .lock()
            .map(|mut s| s.pop())
            .unwrap_or(None)
            .map_or_else(|| zeroed(nx * ny, "a tomogram slice"), Ok)?;
        out.fill(0.0);
        let result = (|| {
            for k in 0..b {
                let zf = z * b + k;
                self.inner.read_slice(zf, &mut buf)?;
                for (yb, row_out) in out.chunks_exact_mut(bx).enumerate() {
                    for dy in 0..b {
                        let row = &buf[(yb * b + dy) * nx..][..bx * b];
                        add_binned_row(row, b, row_out);
                    }
                }
                // A NaN or infinity survives the sums: only then look for it, to report it in
                // the tomogram's own coordinates as unbinned detection would.
                if out.iter().any(|v| !v.is_finite()) {
                    super::check_finite_slice(zf, nx, &buf)?;
                }
            }
            Ok(())
        })();
        if let Ok(mut s) = self.spare.lock() {
            s.push(buf);
        }
        result?;
        let scale = 1.0 / (b * b * b) as f32;
        out.iter_mut().for_each(|v| *v *= scale);
        Ok(())
    }
}

/// `out[i] += Σ row[b·i .. b·i + b]` (b = 2 written out: the common case, and it vectorises).
fn add_binned_row(row: &[f32], b: usize, out: &mut [f32]) {
    if b == 2 {
        for (o, pair) in out.iter_mut().zip(row.chunks_exact(2)) {
            *o += pair[0] + pair[1];
        }
    } else {
        for (o, block) in out.iter_mut().zip(row.chunks_exact(b)) {
            *o += block.iter().sum::<f32>();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Volume;

    #[test]
    fn blocks_are_averaged_and_positions_map_back_to_block_centres() {
        let dims = [7, 5, 6];
        let data: Vec<f32> = (0..7 * 5 * 6).map(|i| i as f32).collect();
        let v = Volume::from_data(dims, [2.0; 3], data).unwrap();
        let b = Binned::new(&v, 2);
        assert_eq!(b.dims(), [3, 2, 3]);
        assert_eq!(b.voxel_size(), [4.0; 3]);
        let mut s = vec![0.0; 6];
        b.read_slice(1, &mut s).unwrap();
        for (i, &got) in s.iter().enumerate() {
            let (x, y) = (i % 3, i / 3);
            let mut want = 0.0;
            for (dz, dy, dx) in (0..8).map(|k| (k / 4, (k / 2) % 2, k % 2)) {
                want += v.get(2 * x + dx, 2 * y + dy, 2 + dz);
            }
            assert_eq!(got, want / 8.0, "({x}, {y})");
        }
        assert_eq!(b.unbin([0.0, 1.0, 2.0]), [0.5, 2.5, 4.5]);
        // b = 3 goes through the general path.
        let b3 = Binned::new(&v, 3);
        let mut s3 = vec![0.0; 2];
        b3.read_slice(1, &mut s3).unwrap();
        let mut want = 0.0;
        for k in 0..27 {
            want += v.get(3 + k % 3, (k / 3) % 3, 3 + k / 9);
        }
        assert!((s3[1] - want / 27.0).abs() < 1e-4);
        assert!(b.read_slice(3, &mut s).is_err());
        assert!(b.read_slice(0, &mut s[..5]).is_err());
        // A non-finite voxel is named in full-resolution coordinates.
        let mut bad = v.clone();
        let i = bad.index(5, 3, 3);
        bad.data[i] = f32::INFINITY;
        let e = Binned::new(&bad, 2).read_slice(1, &mut s).unwrap_err();
        assert!(
            e.to_string()
                .contains("slice 3 has a non-finite voxel (inf) at x=5, y=3"),
            "{e}"
        );
    }
}
