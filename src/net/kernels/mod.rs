//! Convolution row kernels behind one interface: a portable scalar reference that always exists
//! and an x86_64 AVX2+FMA kernel, selected through [`Backend`].
//!
//! One call computes one output row of a 3×3×3 "same" convolution (all `E` x positions, all `CO`
//! output channels, plus bias) and max-pools it straight into a row of pooled outputs (window
//! `P` along x; the caller visits the P² rows of a window in turn). The input is a *panel*: the nine input rows (dz, dy) that the row needs, each padded
//! with one zero voxel on both x ends, so the inner loops have no bounds logic. Rows that fall
//! outside the volume are flagged invalid and skipped (they contribute zero).
//!
//! Layouts (all f32, channels innermost):
//! - `panel`: `[9][E + 2][CI]`, row `r = dz·3 + dy`;
//! - `w`: `[9][3][CI][CO]` (`[dz][dy][dx][in][out]`);
//! - `bias`: `[CO]`; `pooled`: `[E/P][CO]`, updated as `pooled[x/P] = max(pooled[x/P], conv[x])`.
//!   Starting it at 0 makes the result max-pool(ReLU(conv)).
//!
//! Every backend declares its tests with one line, `suite::kernel_tests!(..)` (see `suite.rs`):
//! each layer shape of the network against a naive f64 reference of this contract.
mod scalar;
#[cfg(test)]
mod suite;
#[cfg(target_arch = "x86_64")]
mod x86_avx2;

use core::sync::atomic::{AtomicU8, Ordering};

/// Which kernel implementation runs. Only available implementations can be constructed, so
/// passing a `Backend` around is always safe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backend(Kind);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
}

/// 0 = not yet detected, 1 = scalar, 2 = AVX2+FMA.
static CHOSEN: AtomicU8 = AtomicU8::new(0);

impl Backend {
    /// The portable reference kernels.
    pub const fn scalar() -> Self {
        Backend(Kind::Scalar)
    }

    /// The AVX2+FMA kernels if this CPU has them: detected at run time in std builds, decided
    /// at compile time (`target_feature`) in no_std builds.
    pub fn avx2_fma() -> Option<Self> {
        #[cfg(all(target_arch = "x86_64", feature = "std"))]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Some(Backend(Kind::Avx2Fma));
            }
        }
        #[cfg(all(
            target_arch = "x86_64",
            not(feature = "std"),
            target_feature = "avx2",
            target_feature = "fma"
        ))]
        {
            return Some(Backend(Kind::Avx2Fma));
        }
        #[allow(unreachable_code)]
        None
    }

    /// The fastest available backend, detected once per process and cached.
    pub fn best() -> Self {
        match CHOSEN.load(Ordering::Relaxed) {
            1 => Backend::scalar(),
            #[cfg(target_arch = "x86_64")]
            2 => Backend(Kind::Avx2Fma),
            _ => {
                let b = Backend::avx2_fma().unwrap_or(Backend::scalar());
                let code = if b == Backend::scalar() { 1 } else { 2 };
                CHOSEN.store(code, Ordering::Relaxed);
                b
            }
        }
    }

    /// Short name for reports and benchmarks ("scalar", "avx2+fma").
    pub fn name(&self) -> &'static str {
        match self.0 {
            Kind::Scalar => "scalar",
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2Fma => "avx2+fma",
        }
    }
}

/// Panel length in f32 values for a layer of `CI` input channels and row length `E`.
pub const fn panel_len(ci: usize, e: usize) -> usize {
    9 * (e + 2) * ci
}

/// Computes one convolution output row and max-pools it into `pooled` (see the module docs
/// for layouts). The panel must hold finite values (the forward pass checks its input).
///
/// Requirements, checked with `assert!` (a violation is a programming error, not bad input):
/// `CO % 16 == 0`, `E % P == 0`, `panel.len() == panel_len(CI, E)`, `w.len() == 27·CI·CO`,
/// `bias.len() == CO`, `pooled.len() == (E/P)·CO`.
pub fn conv_pool_row<const CI: usize, const CO: usize, const E: usize, const P: usize>(
    backend: Backend,
    panel: &[f32],
    valid: &[bool; 9],
    w: &[f32],
    bias: &[f32],
    pooled: &mut [f32],
) {
    const { assert!(CO % 16 == 0 && P > 0 && E % P == 0 && CI > 0) };
    assert_eq!(panel.len(), panel_len(CI, E));
    assert_eq!(w.len(), 27 * CI * CO);
    assert_eq!(bias.len(), CO);
    assert_eq!(pooled.len(), (E / P) * CO);
    match backend.0 {
        Kind::Scalar => scalar::conv_pool_row::<CI, CO, E, P>(panel, valid, w, bias, pooled),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a `Kind::Avx2Fma` backend only exists after AVX2 and FMA were detected
        // (or are enabled at compile time); slice lengths were asserted above.
        Kind::Avx2Fma => unsafe {
            x86_avx2::conv_pool_row::<CI, CO, E, P>(panel, valid, w, bias, pooled)
        },
    }
}
