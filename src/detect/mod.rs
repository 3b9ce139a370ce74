//! Slice kernels of the fiducial-bead detector (no_std, no heap).
//!
//! Every kernel works on caller-provided buffers; the sizes they need are given by public
//! functions (`*_len`) or constants. The std driver (`host::detector`) streams a tomogram
//! through these kernels slice by slice. See docs/detector.md for the algorithm and the
//! deliberate deviations from Xmipp's `xmipp_image_peak_high_contrast`.
pub mod bandpass;
pub mod label;
pub mod laplace;
pub mod mirror;
pub mod profile;
pub mod zwin;

pub use microfft::Complex32;

/// Why a kernel refused its input (the std layer turns these into `Error::Invalid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelError {
    /// A buffer is shorter (or longer) than the kernel needs.
    BufferSize,
    /// A padded FFT length exceeds what the FFT engine supports.
    FftTooLarge,
    /// A parameter is out of its domain (non-finite, zero, negative, …).
    BadParameter,
}
