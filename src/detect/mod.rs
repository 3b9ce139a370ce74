//! Slice kernels of the fiducial-bead detector (no_std, no heap).
