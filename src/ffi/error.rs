//! Status codes, the per-thread last-error message and the panic boundary.
//!
//! Every fallible entry point runs its body through `guard`: the body returns
//! `Result<(), Failure>`, a panic is caught and turned into [`misalign_status::Panic`], and the
//! thread's last-error message is set (or cleared on success) before returning to C.
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::host::Error;
use crate::net::weights::WeightError;

/// What an entry point reports. `MISALIGN_STATUS_OK` (0) is success; on any other value
/// `misalign_last_error()` holds a message saying what went wrong, and output parameters are
/// left as documented per function (never half-written unless stated).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum misalign_status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullPointer = 1,
    /// An argument is out of range: a wrong buffer length, zero or overflowing dimensions, a
    /// non-positive sampling, a NaN voxel, a misaligned pointer, overlapping buffers, …
    InvalidArgument = 2,
    /// An output array was too small; the call says how many elements it needed.
    BufferTooSmall = 3,
    /// A file could not be read (the message names it and the OS error).
    Io = 4,
    /// A file is not in the expected format.
    Format = 5,
    /// Weights failed validation (truncated, corrupt, wrong topology, bad checksum, …).
    Weights = 6,
    /// A bug inside misalign was caught at the boundary; the library stays usable but the
    /// call's outputs are unspecified. Please report the message.
    Panic = 7,
    /// The caller's progress callback returned false; nothing was written.
    Cancelled = 8,
    /// A large working buffer could not be allocated; nothing was written and the library
    /// stays usable (try a binned volume or fewer threads).
    OutOfMemory = 9,
}

/// Why a call failed: the status for C and the message for `misalign_last_error`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: misalign_status,
    pub message: String,
}

impl Failure {
    /// A failure with an explicit status.
    pub fn new(status: misalign_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// A NULL pointer where `what` was required.
    pub fn null(what: &str) -> Self {
        Failure::new(misalign_status::NullPointer, format!("{what} is NULL"))
    }

    /// An out-of-range argument.
    pub fn invalid(message: impl Into<String>) -> Self {
        Failure::new(misalign_status::InvalidArgument, message)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::Io { .. } => misalign_status::Io,
            Error::Format(_) => misalign_status::Format,
            Error::Invalid(_) => misalign_status::InvalidArgument,
            Error::Weights(_) => misalign_status::Weights,
            Error::Cancelled => misalign_status::Cancelled,
            Error::OutOfMemory(_) => misalign_status::OutOfMemory,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<WeightError> for Failure {
    fn from(e: WeightError) -> Self {
        Failure::new(misalign_status::Weights, format!("weights: {e}"))
    }
}

thread_local! {
    /// The message of the last failed call on this thread (`None` after a success).
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Stores `message` as this thread's last error (interior NULs become spaces so C sees it all).
fn set_last_error(message: &str) {
    let bytes: Vec<u8> = message
        .bytes()
        .map(|b| if b == 0 { b' ' } else { b })
        .collect();
    let c = CString::new(bytes).ok();
    // `try_with`: during thread teardown the slot may be gone; dropping the message is all we
    // can do then.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut s) = slot.try_borrow_mut() {
            *s = c;
        }
    });
}

/// Forgets this thread's last error (a successful call).
fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut s) = slot.try_borrow_mut() {
            *s = None;
        }
    });
}

/// Text of a panic payload (`panic!` with a literal or a formatted message).
fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "non-string panic payload"
    }
}

/// The panic boundary: runs `body`, records its outcome as this thread's last error and returns
/// the status. No unwinding ever leaves this function.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> misalign_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            clear_last_error();
            misalign_status::Ok
        }
        Ok(Err(f)) => {
            set_last_error(&f.message);
            f.status
        }
        Err(payload) => {
            set_last_error(&format!(
                "internal error in misalign {} (please report): {}",
                crate::VERSION,
                panic_text(&*payload)
            ));
            misalign_status::Panic
        }
    }
}

/// Runs `f` for a value, falling back to `fallback` if it panics (for the few infallible entry
/// points that return something other than a status).
pub(crate) fn guard_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// The message of the most recent failed call on the calling thread, or an empty string if the
/// most recent fallible call succeeded (or none was made). Never NULL.
///
/// The pointer stays valid until the next call on this thread of any `misalign_*` function
/// that returns a `misalign_status` (those set or clear the message); copy it if you need it
/// longer (or use `misalign_last_error_copy`). Reading it does not change it. Each thread has
/// its own message, so threads never see each other's errors.
#[no_mangle]
pub extern "C" fn misalign_last_error() -> *const c_char {
    static EMPTY: &CStr = c"";
    guard_value(EMPTY.as_ptr(), || {
        LAST_ERROR
            .try_with(|slot| match slot.try_borrow() {
                Ok(s) => s.as_ref().map_or(EMPTY.as_ptr(), |c| c.as_ptr()),
                Err(_) => EMPTY.as_ptr(),
            })
            .unwrap_or(EMPTY.as_ptr())
    })
}

/// Copies the calling thread's last-error message into `buf` (like `snprintf`): at most
/// `capacity - 1` bytes plus a terminating NUL, truncated if needed. Returns the full length of
/// the message in bytes, without the NUL, so a return value `>= capacity` means it was truncated.
/// `buf` may be NULL when `capacity` is 0 (to ask for the length). Does not change the message.
///
/// # Safety
/// `buf` must be NULL or point to `capacity` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn misalign_last_error_copy(buf: *mut c_char, capacity: usize) -> usize {
    guard_value(0, || {
        LAST_ERROR
            .try_with(|slot| {
                let s = slot.try_borrow().ok();
                let msg: &[u8] = s
                    .as_ref()
                    .and_then(|s| s.as_ref())
                    .map_or(&[], |c| c.to_bytes());
                if !buf.is_null() && capacity > 0 {
                    let n = msg.len().min(capacity - 1);
                    // SAFETY: the caller guarantees `capacity` writable bytes at `buf`; we write
                    // n + 1 <= capacity of them. The message is ours, so the ranges are distinct.
                    unsafe {
                        std::ptr::copy_nonoverlapping(msg.as_ptr(), buf as *mut u8, n);
                        *buf.add(n) = 0;
                    }
                }
                msg.len()
            })
            .unwrap_or(0)
    })
}

/// A static, human-readable name for a status value ("ok", "null pointer", …), "unknown status"
/// for values this library does not define. Never NULL; never freed.
#[no_mangle]
pub extern "C" fn misalign_status_name(status: u32) -> *const c_char {
    let s: &'static CStr = match status {
        0 => c"ok",
        1 => c"null pointer",
        2 => c"invalid argument",
        3 => c"buffer too small",
        4 => c"I/O error",
        5 => c"format error",
        6 => c"invalid weights",
        7 => c"internal error (panic)",
        8 => c"cancelled",
        9 => c"out of memory",
        _ => c"unknown status",
    };
    s.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> String {
        // SAFETY: misalign_last_error never returns NULL and the string is NUL-terminated.
        unsafe { CStr::from_ptr(misalign_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn success_clears_and_failure_sets_the_message() {
        assert_eq!(
            guard(|| Err(Failure::invalid("bad\0thing"))),
            misalign_status::InvalidArgument
        );
        assert_eq!(last(), "bad thing");
        assert_eq!(guard(|| Ok(())), misalign_status::Ok);
        assert_eq!(last(), "");
    }

    #[test]
    fn messages_are_per_thread() {
        let _ = guard(|| Err(Failure::invalid("main thread failure")));
        let other = std::thread::spawn(|| {
            let before = last();
            let _ = guard(|| Err(Failure::invalid("worker failure")));
            (before, last())
        })
        .join()
        .expect("worker thread");
        assert_eq!(other, (String::new(), "worker failure".to_string()));
        assert_eq!(last(), "main thread failure");
    }

    #[test]
    fn panics_become_a_status() {
        let st = guard(|| {
            let v: Vec<u8> = Vec::new();
            let i = v.len() + 3;
            let _ = v[i];
            Ok(())
        });
        assert_eq!(st, misalign_status::Panic);
        assert!(last().contains("internal error"), "{}", last());
    }

    #[test]
    fn copy_truncates_like_snprintf() {
        let _ = guard(|| Err(Failure::invalid("0123456789")));
        let mut buf = [0x7f as c_char; 4];
        // SAFETY: buf has 4 writable bytes.
        let n = unsafe { misalign_last_error_copy(buf.as_mut_ptr(), buf.len()) };
        assert_eq!(n, 10);
        assert_eq!(buf.map(|c| c as u8), *b"012\0");
        // SAFETY: NULL with capacity 0 only asks for the length.
        assert_eq!(
            unsafe { misalign_last_error_copy(std::ptr::null_mut(), 0) },
            10
        );
    }

    #[test]
    fn out_of_memory_has_its_own_status() {
        let f = Failure::from(Error::OutOfMemory("1 MiB for x".into()));
        assert_eq!(f.status, misalign_status::OutOfMemory);
        assert!(f.message.contains("out of memory"), "{}", f.message);
    }

    #[test]
    fn status_names_cover_every_variant() {
        for s in 0..=misalign_status::OutOfMemory as u32 {
            // SAFETY: static NUL-terminated strings.
            let name = unsafe { CStr::from_ptr(misalign_status_name(s)) };
            assert_ne!(name.to_bytes(), b"unknown status");
        }
        // SAFETY: as above.
        let unknown = unsafe { CStr::from_ptr(misalign_status_name(99)) };
        assert_eq!(unknown.to_bytes(), b"unknown status");
    }
}
