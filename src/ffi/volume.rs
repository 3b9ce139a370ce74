//! The volume a host lends to detection and checking, described by a small C struct.
use super::error::Failure;
use super::ptr;
use crate::host::volume::voxel_count;
use crate::host::VolumeView;

/// A tomogram borrowed from the caller for the duration of one call (never copied, never kept).
///
/// Layout: `nz` sections of `ny` rows of `nx` floats, **x fastest, then y, then z** — exactly
/// how Xmipp's `MultidimArray<float>` (`data`, `xdim`, `ydim`, `zdim`), an MRC file's data block
/// and a C array `float v[nz][ny][nx]` are stored. Voxel (x, y, z) is
/// `data[(z * ny + y) * nx + x]`. Z is the beam axis, Y the tilt axis. Gold beads are dark.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct misalign_volume {
    /// The first voxel; `nx * ny * nz` floats, all finite.
    pub data: *const f32,
    /// Voxels along x (fastest).
    pub nx: usize,
    /// Voxels along y.
    pub ny: usize,
    /// Voxels along z (slowest, beam axis).
    pub nz: usize,
    /// Voxel size in Å/voxel (isotropic), > 0.
    pub sampling_a: f32,
}

#[cfg(test)]
impl misalign_volume {
    /// The description of `data` as a `dims` volume of `sampling_a` Å/voxel (tests' shorthand).
    pub(crate) fn of(data: &[f32], dims: [usize; 3], sampling_a: f32) -> Self {
        misalign_volume {
            data: data.as_ptr(),
            nx: dims[0],
            ny: dims[1],
            nz: dims[2],
            sampling_a,
        }
    }
}

/// Checks a caller's volume description and wraps it as a [`VolumeView`] (no copy): non-NULL
/// data, positive dimensions whose product fits in memory, positive finite sampling, and no NaN
/// or infinite voxel (named by x, y, z — a single NaN would otherwise poison every statistic).
///
/// # Safety
/// `v.data` must point to `nx * ny * nz` floats unmodified during the borrow.
pub(crate) unsafe fn view<'a>(v: &misalign_volume) -> Result<VolumeView<'a>, Failure> {
    if v.data.is_null() {
        return Err(Failure::null("volume data"));
    }
    let dims = [v.nx, v.ny, v.nz];
    let n = voxel_count(dims)?;
    if !(v.sampling_a.is_finite() && v.sampling_a > 0.0) {
        return Err(Failure::invalid(format!(
            "volume sampling must be a positive number of Å/voxel, got {}",
            v.sampling_a
        )));
    }
    // SAFETY: the caller's promise; NULL, alignment and byte-size overflow checked inside.
    let data: &'a [f32] = unsafe { ptr::slice(v.data, n, "volume data") }?;
    if let Some(i) = data.iter().position(|x| !x.is_finite()) {
        let (x, y, z) = (i % v.nx, (i / v.nx) % v.ny, i / (v.nx * v.ny));
        return Err(Failure::invalid(format!(
            "volume voxel (x {x}, y {y}, z {z}) is {}; volumes must be finite",
            data[i]
        )));
    }
    let s = v.sampling_a;
    Ok(VolumeView::new(dims, [s, s, s], data)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::error::misalign_status;
    use crate::host::SliceSource;

    #[test]
    fn views_are_checked() {
        let mut d: Vec<f32> = (0..24).map(|v| v as f32).collect();
        // SAFETY: `d` holds 24 floats; oversize dims are refused before reading.
        unsafe {
            let v = view(&misalign_volume::of(&d, [2, 3, 4], 10.0)).expect("valid view");
            assert_eq!(v.dims(), [2, 3, 4]);
            let e = view(&misalign_volume::of(&d, [2, 3, 4], 0.0)).expect_err("zero sampling");
            assert_eq!(e.status, misalign_status::InvalidArgument);
            let e = view(&misalign_volume::of(&d, [usize::MAX, 3, 4], 1.0)).expect_err("overflow");
            assert_eq!(e.status, misalign_status::InvalidArgument);
            let e = view(&misalign_volume::of(&d, [2, 0, 4], 1.0)).expect_err("empty");
            assert_eq!(e.status, misalign_status::InvalidArgument);
            d[2 * 3 + 1] = f32::NAN;
            let e = view(&misalign_volume::of(&d, [2, 3, 4], 1.0)).expect_err("NaN");
            assert!(e.message.contains("(x 1, y 0, z 1)"), "{}", e.message);
            let mut nul = misalign_volume::of(&d, [2, 3, 4], 1.0);
            nul.data = std::ptr::null();
            let e = view(&nul).expect_err("NULL");
            assert_eq!(e.status, misalign_status::NullPointer);
        }
    }
}
