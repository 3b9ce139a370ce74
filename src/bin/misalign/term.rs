//! Every byte the CLI prints goes through here, never through `println!`/`eprintln!` (which
//! panic when the stream fails: `misalign check a b c | head -1`, `> /dev/full`, `2>/dev/full`).
//!
//! The first stdout error is remembered and later stdout output is dropped, so the work goes on
//! to its end (a batch finishes its reports); [`exit_code`] then exits quietly for a closed pipe,
//! as ripgrep does, and with one message for any other error (a full disk). stderr errors are
//! ignored: there is nowhere left to report them.
use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::Mutex;

/// The first error writing to stdout.
static STDOUT_ERROR: Mutex<Option<io::Error>> = Mutex::new(None);

/// Writes to stdout with `fill` unless stdout has already failed; remembers a failure.
pub fn out_with(fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) {
    let mut failed = STDOUT_ERROR.lock().unwrap_or_else(|p| p.into_inner());
    if failed.is_some() {
        return;
    }
    let mut lock = io::stdout().lock();
    if let Err(e) = fill(&mut lock).and_then(|()| lock.flush()) {
        *failed = Some(e);
    }
}

/// Prints `args` to stdout (see [`out_with`]).
pub fn out(args: fmt::Arguments) {
    out_with(|w| w.write_fmt(args));
}

/// Prints `args` to stderr, ignoring failures.
pub fn err(args: fmt::Arguments) {
    let mut lock = io::stderr().lock();
    let _ = lock.write_fmt(args).and_then(|()| lock.flush());
}

/// `println!` to stdout through [`out`].
macro_rules! outln {
    () => { $crate::term::out(format_args!("\n")) };
    ($($t:tt)*) => { $crate::term::out(format_args!("{}\n", format_args!($($t)*))) };
}

/// `eprintln!` to stderr through [`err`].
macro_rules! errln {
    () => { $crate::term::err(format_args!("\n")) };
    ($($t:tt)*) => { $crate::term::err(format_args!("{}\n", format_args!($($t)*))) };
}

/// `eprint!` to stderr through [`err`].
macro_rules! errp {
    ($($t:tt)*) => { $crate::term::err(format_args!($($t)*)) };
}

pub(crate) use {errln, errp, outln};

/// The exit code of a run whose work ended with `result`: a failed stdout is reported (once)
/// unless it was a closed pipe, the reader's way of saying it has read enough.
pub fn exit_code(result: Result<(), misalign::host::Error>) -> ExitCode {
    let stdout = STDOUT_ERROR
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let mut code = ExitCode::SUCCESS;
    if let Err(e) = result {
        errln!("misalign: error: {e}");
        code = ExitCode::FAILURE;
    }
    match stdout {
        Some(e) if e.kind() == io::ErrorKind::BrokenPipe => code,
        Some(e) => {
            errln!("misalign: error: writing to standard output: {e}");
            ExitCode::FAILURE
        }
        None => code,
    }
}
