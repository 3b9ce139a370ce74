//! One error type for the std layer; every message says what was being done.
use std::fmt;

/// Errors of the std layer. The message always names the file or the step.
#[derive(Debug)]
pub enum Error {
    /// An I/O failure while doing `context` (e.g. "reading header of tomo.mrc").
    Io {
        context: String,
        source: std::io::Error,
    },
    /// A file is not in the format it claims (truncated MRC, bad STAR line, …).
    Format(String),
    /// Input that is well-formed but cannot be processed (NaN voxels, impossible sizes, …).
    Invalid(String),
    /// A weight file failed validation.
    Weights(String),
    /// The caller's progress callback asked to stop (see [`Progress`]).
    Cancelled,
    /// A large buffer could not be allocated (the message says how large and what for).
    OutOfMemory(String),
}

/// Progress with cancellation: called on the calling thread (never on a worker) with the
/// completed fraction, 0 … 1, non-decreasing; returning `false` stops the work, which then
/// ends with [`Error::Cancelled`] and no output.
pub type Progress<'a> = &'a dyn Fn(f32) -> bool;

/// Reports `fraction` to `progress` (if any); `Err(Cancelled)` if it asks to stop.
pub fn report_progress(progress: Option<Progress<'_>>, fraction: f32) -> Result<()> {
    match progress {
        Some(p) if !p(fraction) => Err(Error::Cancelled),
        _ => Ok(()),
    }
}

/// Result alias of the std layer.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Format(m) | Error::Invalid(m) | Error::Weights(m) => f.write_str(m),
            Error::Cancelled => f.write_str("cancelled by the caller's progress callback"),
            Error::OutOfMemory(what) => write!(
                f,
                "out of memory: could not allocate {what}; bin the tomogram, use fewer threads or \
                 free memory"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
