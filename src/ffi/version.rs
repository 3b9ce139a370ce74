//! Library and ABI versions, so a host can check that the header it was compiled against
//! matches the library it runs with.
use std::ffi::c_char;

/// Version of the C ABI described by this header. It changes whenever a function signature,
/// struct layout or constant changes incompatibly; compare it with `misalign_abi_version()`.
pub const MISALIGN_ABI_VERSION: u32 = 2;

/// The crate version as a NUL-terminated string.
static VERSION_Z: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version ("0.1.0"), a static NUL-terminated string; never NULL, never freed.
/// Safe to call from any thread at any time.
#[no_mangle]
pub extern "C" fn misalign_version() -> *const c_char {
    VERSION_Z.as_ptr() as *const c_char
}

/// The ABI version the library was built with; equal to `MISALIGN_ABI_VERSION` of the header it
/// was built from. Safe to call from any thread at any time.
#[no_mangle]
pub extern "C" fn misalign_abi_version() -> u32 {
    MISALIGN_ABI_VERSION
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_crate_version() {
        // SAFETY: a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(misalign_version()) };
        assert_eq!(v.to_str().ok(), Some(crate::VERSION));
        assert_eq!(misalign_abi_version(), MISALIGN_ABI_VERSION);
    }
}
