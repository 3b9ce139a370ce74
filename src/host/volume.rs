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

    /// Reads the block at voxel `origin` of `size` voxels (inside the volume) into `out` (x
    /// fastest, `out.len()` = the product of `size`). The default reads whole slices one at a
    /// time; sources that can read sub-blocks (MRC files, memory) override it.
    fn read_block(&self, origin: [usize; 3], size: [usize; 3], out: &mut [f32]) -> Result<()> {
        let [nx, ny, _] = self.dims();
        check_block(self.dims(), origin, size, out.len())?;
        let mut slice = crate::host::alloc::zeroed(nx * ny, "a tomogram slice")?;
        let plane = size[0] * size[1];
        for (z, dst) in out.chunks_exact_mut(plane).enumerate() {
            self.read_slice(origin[2] + z, &mut slice)?;
            let one = [origin[0], origin[1], 0];
            copy_block(&slice, [nx, ny, 1], one, [size[0], size[1], 1], dst);
        }
        Ok(())
    }
}

/// Fails unless the block at `origin` of `size` lies inside `dims` and `len` is its volume.
fn check_block(dims: [usize; 3], origin: [usize; 3], size: [usize; 3], len: usize) -> Result<()> {
    let fits =
        (0..3).all(|a| size[a] > 0 && origin[a].checked_add(size[a]).is_some_and(|e| e <= dims[a]));
    if !fits || size.iter().try_fold(1usize, |n, &s| n.checked_mul(s)) != Some(len) {
        return Err(Error::Invalid(format!(
            "block at {origin:?} of size {size:?} (buffer {len}) does not fit a {dims:?} volume"
        )));
    }
    Ok(())
}

/// Copies the (checked) block at `origin` of `size` out of `data` (a `dims` volume, x fastest).
fn copy_block(
    data: &[f32],
    dims: [usize; 3],
    origin: [usize; 3],
    size: [usize; 3],
    out: &mut [f32],
) {
    let [nx, ny, _] = dims;
    for (i, row) in out.chunks_exact_mut(size[0]).enumerate() {
        let (y, z) = (origin[1] + i % size[1], origin[2] + i / size[1]);
        let start = (z * ny + y) * nx + origin[0];
        row.copy_from_slice(&data[start..start + size[0]]);
    }
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
            data: crate::host::alloc::zeroed(len, "the volume")?,
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

    fn read_block(&self, origin: [usize; 3], size: [usize; 3], out: &mut [f32]) -> Result<()> {
        check_block(self.dims, origin, size, out.len())?;
        copy_block(&self.data, self.dims, origin, size, out);
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

    fn read_block(&self, origin: [usize; 3], size: [usize; 3], out: &mut [f32]) -> Result<()> {
        check_block(self.dims, origin, size, out.len())?;
        copy_block(self.data, self.dims, origin, size, out);
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
    fn a_volume_larger_than_memory_is_an_error_not_an_abort() {
        // 2^50 voxels (4 PiB): countable, not allocatable.
        match Volume::zeros([1 << 20, 1 << 20, 1 << 10], [1.0; 3]) {
            Err(crate::host::Error::OutOfMemory(m)) => assert!(m.contains("the volume"), "{m}"),
            other => panic!("expected OutOfMemory, got {:?}", other.map(|v| v.dims)),
        }
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
