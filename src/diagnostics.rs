//! Lines for the user on stderr, written so that they can never panic.
//!
//! `eprintln!` panics when stderr cannot be written (a closed pipe, a full disk). The lines
//! here are printed from a profiler's drop, while call-site capture is being set up and at
//! the end of a heap session, where such a panic would lose the profile, leave a
//! half-finished setup behind, or abort a process that is already unwinding. A line stderr refuses is
//! dropped; the work it reports on goes ahead.

use std::io::Write;

/// Writes `args` and a newline to stderr, ignoring any error.
pub(crate) fn stderr_line(args: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{args}");
}
