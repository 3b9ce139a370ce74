//! Fallible allocation of the large working buffers (slices, cubes, label maps, FFT scratch).
//!
//! A host that embeds the library — a microscope-control program calling the C ABI — must get an
//! error it can act on, never an abort, when a tomogram is too large for the memory at hand.
use crate::host::{Error, Result};

/// `n` default values (zeros), or [`Error::OutOfMemory`] naming `what` and the size.
pub fn zeroed<T: Clone + Default>(n: usize, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        let mib = (n as f64) * std::mem::size_of::<T>() as f64 / (1u64 << 20) as f64;
        Error::OutOfMemory(format!("{mib:.0} MiB for {what}"))
    })?;
    v.resize(n, T::default());
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_sizes_are_an_error_not_an_abort() {
        // 2^60 floats: no machine has them; the allocator refuses and we say so.
        let e = zeroed::<f32>(1 << 60, "a test buffer").unwrap_err();
        assert!(matches!(e, Error::OutOfMemory(_)), "{e}");
        assert!(e.to_string().contains("a test buffer"), "{e}");
        assert_eq!(zeroed::<u32>(5, "small").unwrap(), vec![0; 5]);
    }
}
