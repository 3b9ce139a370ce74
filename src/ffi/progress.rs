//! The progress callback of the long-running calls (`misalign_detect`, `misalign_check`), so a
//! host can show progress and cancel, e.g. when a newer tilt series arrives.
use std::ffi::c_void;

/// Called with the completed fraction (0 … 1, non-decreasing) and the `progress_user_data`
/// registered next to it, on the thread that made the call (never on a worker thread), between
/// units of work (every pair of slices during detection). Return true to go on, false to
/// cancel: the call then returns `MISALIGN_STATUS_CANCELLED` and writes no output. It must not
/// throw or unwind, and should not call `misalign_*` functions (they would replace the last
/// error). NULL = no callback.
pub type misalign_progress_fn =
    Option<unsafe extern "C" fn(fraction: f32, user_data: *mut c_void) -> bool>;

/// The callback as the std layer's progress closure (`None` when no callback is set).
pub(crate) fn closure(
    callback: misalign_progress_fn,
    user_data: *mut c_void,
) -> Option<impl Fn(f32) -> bool> {
    // SAFETY (in the closure): the caller registered a function with this signature and
    // promised that `user_data` is what it expects; it runs on the calling thread only.
    callback.map(|f| move |fraction: f32| unsafe { f(fraction, user_data) })
}
