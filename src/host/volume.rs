//! In-memory volumes and the slice-source abstraction the streaming drivers read from.
use super::{Error, Result};

/// Anything that yields XY slices of a volume (an MRC file read lazily, or memory).
///
/// Axis convention (docs/conventions.md): `dims = [nx, ny, nz]`, x fastest; a slice is
/// `nx * ny` values, row y at offset `y * nx`. Z is the beam (thickness) axis.
pub trait SliceSource: Sync {
    /// `[nx, ny, nz]` in voxels.
    fn dims(&self) -> [usize; 3];
    /// Voxel size `[x, y, z]` in Å (0 when unknown).
    fn voxel_size(&self) -> [f32; 3];
    /// Reads slice `z` into `out` (`out.len() == nx * ny`).
    fn read_slice(&self, z: usize, out: &mut [f32]) -> Result<()>;
}

/// A whole volume in memory, x fastest.
#[derive(Clone, Debug, PartialEq)]
pub struct Volume {
    /// `[nx, ny, nz]`.
    pub dims: [usize; 3],
    /// Voxel size `[x, y, z]` in Å (0 when unknown).
    pub voxel_size: [f32; 3],
    pub data: Vec<f32>,
}

impl Volume {
    /// A zero-filled volume; fails on a size overflow instead of panicking.
    pub fn zeros(dims: [usize; 3], voxel_size: [f32; 3]) -> Result<Self> {
        let len = voxel_count(dims)?;
        Ok(Volume {
            dims,
            voxel_size,
            data: vec![0.0; len],
        })
    }

    /// Wraps existing data after checking its length.
    pub fn from_data(dims: [usize; 3], voxel_size: [f32; 3], data: Vec<f32>) -> Result<Self> {
        check_len(dims, data.len())?;
        Ok(Volume {
            dims,
            voxel_size,
            data,
        })
    }

    /// Linear index of voxel (x, y, z).
    #[inline]
    pub fn index(&self, x: usize, y: usize, z: usize) -> usize {
        (z * self.dims[1] + y) * self.dims[0] + x
    }

    /// Voxel value at (x, y, z).
    #[inline]
    pub fn get(&self, x: usize, y: usize, z: usize) -> f32 {
        self.data[self.index(x, y, z)]
    }

    /// Slice z as a borrowed row-major XY plane.
    pub fn slice(&self, z: usize) -> &[f32] {
        let n = self.dims[0] * self.dims[1];
        &self.data[z * n..(z + 1) * n]
    }
}

/// `nx * ny * nz`, or an error on overflow or an empty dimension.
pub fn voxel_count(dims: [usize; 3]) -> Result<usize> {
    if dims.contains(&0) {
        return Err(Error::Invalid(format!(
            "volume dimensions must be positive, got {}×{}×{}",
            dims[0], dims[1], dims[2]
        )));
    }
    dims[0]
        .checked_mul(dims[1])
        .and_then(|v| v.checked_mul(dims[2]))
        .ok_or_else(|| Error::Invalid(format!("volume dimensions {dims:?} overflow")))
}

/// Fails unless `len` is exactly the voxel count of `dims`.
fn check_len(dims: [usize; 3], len: usize) -> Result<()> {
    let want = voxel_count(dims)?;
    if len != want {
        return Err(Error::Invalid(format!(
            "volume of {}×{}×{} needs {want} values, got {len}",
            dims[0], dims[1], dims[2]
        )));
    }
    Ok(())
}

impl SliceSource for Volume {
    fn dims(&self) -> [usize; 3] {
        self.dims
    }

    fn voxel_size(&self) -> [f32; 3] {
        self.voxel_size
    }

    fn read_slice(&self, z: usize, out: &mut [f32]) -> Result<()> {
        if z >= self.dims[2] || out.len() != self.dims[0] * self.dims[1] {
            return Err(Error::Invalid(format!(
                "slice {z} / buffer of {} does not fit a {:?} volume",
                out.len(),
                self.dims
            )));
        }
        out.copy_from_slice(self.slice(z));
        Ok(())
    }
}

/// A volume borrowed from someone else's memory (a C++ host's `MultidimArray<float>`, an
/// ndarray, a memory map): same layout as [`Volume`], no copy.
#[derive(Clone, Copy, Debug)]
pub struct VolumeView<'a> {
    dims: [usize; 3],
    voxel_size: [f32; 3],
    data: &'a [f32],
}

impl<'a> VolumeView<'a> {
    /// Checks that `data` holds exactly `nx * ny * nz` values (x fastest).
    pub fn new(dims: [usize; 3], voxel_size: [f32; 3], data: &'a [f32]) -> Result<Self> {
        check_len(dims, data.len())?;
        Ok(VolumeView {
            dims,
            voxel_size,
            data,
        })
    }
}

impl SliceSource for VolumeView<'_> {
    fn dims(&self) -> [usize; 3] {
        self.dims
    }

    fn voxel_size(&self) -> [f32; 3] {
        self.voxel_size
    }

    fn read_slice(&self, z: usize, out: &mut [f32]) -> Result<()> {
        let n = self.dims[0] * self.dims[1];
        if z >= self.dims[2] || out.len() != n {
            return Err(Error::Invalid(format!(
                "slice {z} / buffer of {} does not fit a {:?} volume",
                out.len(),
                self.dims
            )));
        }
        out.copy_from_slice(&self.data[z * n..(z + 1) * n]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        assert!(voxel_count([usize::MAX, 2, 1]).is_err());
        assert!(voxel_count([4, 0, 1]).is_err());
        assert_eq!(voxel_count([2, 3, 4]).unwrap(), 24);
    }

    #[test]
    fn slices_are_xy_planes() {
        let data: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let v = Volume::from_data([2, 3, 4], [1.0; 3], data).unwrap();
        let mut s = vec![0.0; 6];
        v.read_slice(2, &mut s).unwrap();
        assert_eq!(s, vec![12.0, 13.0, 14.0, 15.0, 16.0, 17.0]);
        assert_eq!(v.get(1, 2, 3), 23.0);
        assert!(v.read_slice(4, &mut s).is_err());
        let view = VolumeView::new([2, 3, 4], [1.0; 3], &v.data).unwrap();
        let mut t = vec![0.0; 6];
        view.read_slice(2, &mut t).unwrap();
        assert_eq!(s, t);
        assert!(VolumeView::new([2, 3, 5], [1.0; 3], &v.data).is_err());
    }
}
