//! Turning C pointers and lengths into Rust references, after checking what can be checked:
//! NULL, alignment, a byte size that fits `isize`, and overlap between buffers that Rust must
//! hold exclusively. (That a pointer really addresses `len` live elements is the caller's
//! promise, stated in each function's `# Safety` section.)
use std::ffi::{c_char, CStr};
use std::path::PathBuf;

use super::error::Failure;

/// Checks a pointer/length pair and returns its byte size.
fn check<T>(p: *const T, len: usize, what: &str) -> Result<usize, Failure> {
    if p.is_null() {
        return Err(Failure::null(what));
    }
    if (p as usize) % std::mem::align_of::<T>() != 0 {
        return Err(Failure::invalid(format!(
            "{what} is not aligned to {} bytes",
            std::mem::align_of::<T>()
        )));
    }
    len.checked_mul(std::mem::size_of::<T>())
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| Failure::invalid(format!("{what}: length {len} overflows")))
}

/// A read-only slice of `len` elements. NULL is accepted only with `len == 0`.
///
/// # Safety
/// If non-NULL, `p` must point to `len` initialised `T` that stay unmodified for `'a`.
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize, what: &str) -> Result<&'a [T], Failure> {
    if p.is_null() && len == 0 {
        return Ok(&[]);
    }
    check(p, len, what)?;
    // SAFETY: non-NULL, aligned, size fits isize (checked); validity is the caller's promise.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A writable slice of `len` elements. NULL is accepted only with `len == 0`.
///
/// # Safety
/// If non-NULL, `p` must point to `len` `T` writable and not otherwise accessed for `'a`.
pub(crate) unsafe fn slice_mut<'a, T>(
    p: *mut T,
    len: usize,
    what: &str,
) -> Result<&'a mut [T], Failure> {
    if p.is_null() && len == 0 {
        return Ok(&mut []);
    }
    check(p, len, what)?;
    // SAFETY: as in `slice`, plus exclusivity promised by the caller (and checked against the
    // other arguments with `disjoint`).
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// An exclusive reference to one output value.
///
/// # Safety
/// If non-NULL, `p` must point to a writable `T` not otherwise accessed for `'a`.
pub(crate) unsafe fn out<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    check(p, 1, what)?;
    // SAFETY: non-NULL and aligned (checked); validity promised by the caller.
    Ok(unsafe { &mut *p })
}

/// A shared reference to one input value.
///
/// # Safety
/// If non-NULL, `p` must point to a valid `T` unmodified for `'a`.
pub(crate) unsafe fn input<'a, T>(p: *const T, what: &str) -> Result<&'a T, Failure> {
    check(p, 1, what)?;
    // SAFETY: non-NULL and aligned (checked); validity promised by the caller.
    Ok(unsafe { &*p })
}

/// Fails if the byte ranges `[a, a + a_bytes)` and `[b, b + b_bytes)` overlap (Rust must not
/// hold a `&mut` to memory that another argument also reaches).
pub(crate) fn disjoint(
    a: *const u8,
    a_bytes: usize,
    b: *const u8,
    b_bytes: usize,
    what: &str,
) -> Result<(), Failure> {
    let (a, b) = (a as usize, b as usize);
    let overlap = a_bytes > 0
        && b_bytes > 0
        && a < b.saturating_add(b_bytes)
        && b < a.saturating_add(a_bytes);
    if overlap {
        return Err(Failure::invalid(format!("{what} overlap")));
    }
    Ok(())
}

/// A filesystem path from a NUL-terminated C string (bytes taken as they are on Unix, so
/// non-UTF-8 names work; UTF-8 required elsewhere).
///
/// # Safety
/// If non-NULL, `p` must point to a NUL-terminated string.
pub(crate) unsafe fn path(p: *const c_char, what: &str) -> Result<PathBuf, Failure> {
    if p.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL and NUL-terminated (caller's promise).
    let c = unsafe { CStr::from_ptr(p) };
    if c.to_bytes().is_empty() {
        return Err(Failure::invalid(format!("{what} is an empty string")));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(c.to_bytes())))
    }
    #[cfg(not(unix))]
    {
        c.to_str()
            .map(PathBuf::from)
            .map_err(|_| Failure::invalid(format!("{what} is not valid UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::error::misalign_status;

    #[test]
    fn null_misaligned_and_overflowing_are_refused() {
        // SAFETY: every call below is refused before anything is dereferenced.
        unsafe {
            assert!(slice::<f32>(std::ptr::null(), 0, "x").is_ok());
            let e = slice::<f32>(std::ptr::null(), 1, "x").unwrap_err();
            assert_eq!(e.status, misalign_status::NullPointer);
            let buf = [0u32; 4];
            let odd = (buf.as_ptr() as *const u8).wrapping_add(1) as *const f32;
            assert_eq!(
                slice(odd, 1, "x").unwrap_err().status,
                misalign_status::InvalidArgument
            );
            assert!(slice(buf.as_ptr() as *const f32, usize::MAX / 2, "x").is_err());
        }
    }

    #[test]
    fn overlap_is_detected() {
        let p = 1000 as *const u8;
        assert!(disjoint(p, 10, p.wrapping_add(10), 10, "a and b").is_ok());
        assert!(disjoint(p, 11, p.wrapping_add(10), 10, "a and b").is_err());
        assert!(disjoint(p, 0, p, 10, "a and b").is_ok());
    }
}
