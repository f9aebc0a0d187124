//! Lines for the user on stderr, written so that no panic ever leaves them.
//!
//! `eprintln!` panics when stderr cannot be written (a closed pipe, a full disk). The lines
//! here are printed from a profiler's drop, while call-site capture is being set up and at
//! the end of a heap session, where such a panic would lose the profile, leave a
//! half-finished setup behind, or abort a process that is already unwinding. A line stderr
//! refuses is dropped; the work it reports on goes ahead.

use std::io::Write;

/// Writes `args` and a newline to stderr, ignoring any error.
pub(crate) fn stderr_line(args: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{args}");
}

/// Writes `args` and a newline through `eprintln!`, as dhat prints its lines, so that a test
/// harness that captures a test's output (libtest under `cargo test`) captures these lines
/// too and shows them only for a failing test. A write stderr refuses makes `eprintln!`
/// panic; the panic is caught here and the line dropped (the panic hook still sees it, as it
/// would see dhat's). Unwinding is needed for that, so a `panic = "abort"` build writes
/// straight to stderr instead, as [`stderr_line`] does.
///
/// For user-facing calls only (a profiler's drop, a failed assertion), never the allocator:
/// the caught panic allocates.
#[cfg(feature = "dhat-compat")]
pub(crate) fn eprint_line(args: std::fmt::Arguments<'_>) {
    #[cfg(panic = "unwind")]
    {
        let print = std::panic::AssertUnwindSafe(|| eprintln!("{args}"));
        let _ = std::panic::catch_unwind(print);
    }
    #[cfg(not(panic = "unwind"))]
    stderr_line(args);
}
