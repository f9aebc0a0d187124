//! Output writers: DHAT's JSON file and the text helpers of dhat's stderr summary.
//!
//! Everything here runs at report time, in user context, and apart from the caller's own
//! writer in `write_json_to` with the calling thread's recording suspended, so the writers may
//! allocate freely. The JSON is written by hand (no serde): a
//! small emitter in [`json`] reproduces serde_json's two pretty layouts byte for byte, and
//! [`dhat`] turns a heap [`Profile`] into DHAT's document, doing dhat's
//! backtrace trimming, frame strings and `ftbl` numbering, and does the same (without the
//! trimming) for the native profiler's call-site table. Symbols come from a [`Resolve`]
//! implementation passed in by the caller: normally the crate's symbolizer, in tests a table.

pub(crate) mod dhat;
pub(crate) mod json;
pub(crate) mod text;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

pub(crate) use self::dhat::{build_call_site_document, build_document, command_line};
pub(crate) use self::dhat::{document_string, write_document, DhatDocument, Resolve};
pub(crate) use self::json::Layout;

use crate::heap::Profile;
use crate::thread_state::Suspended;

/// The symbolizer gives at least one symbol per address (all fields `None` when nothing is
/// known), so an unresolved frame still prints as `0x…: ??? (???:0:0)`.
impl Resolve for crate::symbolize::Symbolizer {
    fn resolve(&mut self, address: usize, symbols: &mut Vec<self::dhat::Symbol>) {
        let found = crate::symbolize::Symbolizer::resolve(self, address);
        symbols.extend(found.iter().map(|symbol| self::dhat::Symbol {
            function: symbol.function.clone(),
            file: symbol.file.clone(),
            line: symbol.line,
            column: symbol.column,
        }));
    }

    fn symbol_table_name(&mut self, address: usize) -> Option<String> {
        crate::symbolize::Symbolizer::symbol_table_name(self, address)
    }
}

/// The frames dhat's allocator would put on top of each heap stack in this build (see
/// [`dhat::name_allocator_frames`]), named from the walker's calibration with the default
/// resolver.
pub(crate) fn allocator_frames_of_this_build() -> crate::heap::AllocatorFrames {
    let mut symbolizer = crate::symbolize::Symbolizer::new();
    self::dhat::name_allocator_frames(
        &crate::walk::allocator_path(),
        &crate::walk::zeroed_allocator_path(),
        &mut symbolizer,
    )
}

/// Resolves `profile` with the default resolver and this process's `cmd` and `pid`.
pub(crate) fn document_for(profile: &Profile) -> DhatDocument {
    document_and_notes(profile).0
}

/// [`document_for`], and the lines for the end-of-profile summary to print after dhat's: one
/// for each module whose frames could not be named at all (a stripped binary, say), and one
/// if the build lacks frame pointers, which leaves every call stack short or empty. Modules
/// that were named without file and line (compressed debug sections, as in Debian's separate
/// debug files for the C library) are not worth a line there: their frames still read like
/// dhat's.
pub(crate) fn document_and_notes(profile: &Profile) -> (DhatDocument, Vec<String>) {
    let mut symbolizer = crate::symbolize::Symbolizer::new();
    let document = build_document(profile, &mut symbolizer, command_line(), std::process::id());
    let mut notes = symbolizer.unnamed_module_notes().to_vec();
    if crate::walk::frame_pointers_look_missing() {
        notes.push(MISSING_FRAME_POINTERS.to_owned());
    }
    (document, notes)
}

/// The note for a build without frame pointers.
const MISSING_FRAME_POINTERS: &str = "mod-alloc: frame pointers look missing from this build, \
     so call stacks are short or empty; build with RUSTFLAGS=\"-C force-frame-pointers=yes\" \
     (x86_64 and aarch64 only)";

/// Creates (or truncates) `path` and writes `document` in the file layout.
pub(crate) fn write_document_file(document: &DhatDocument, path: &Path) -> io::Result<()> {
    let file = File::create(path)?;
    let mut out = write_document(document, Layout::File, BufWriter::new(file))?;
    out.flush()
}

/// The native profiler's call sites so far as a document, resolved with the default
/// resolver, with this process's `cmd` and `pid`, and `te` the time `elapsed` since the
/// call-site table's generation began, in microseconds.
pub(crate) fn call_site_document(
    report: &crate::CallSiteReport,
    elapsed: std::time::Duration,
) -> DhatDocument {
    let mut symbolizer = crate::symbolize::Symbolizer::new();
    build_call_site_document(
        report,
        &mut symbolizer,
        command_line(),
        std::process::id(),
        elapsed.as_micros(),
    )
}

/// What is running, as a DHAT file at `path`, without stopping it: the dhat-style session's
/// profile so far, or, when none runs, the native profiler's call-site table.
///
/// This is the body of `ModAlloc::write_dhat_json`. Fails with `ErrorKind::Other` when neither
/// kind of profiler is running, and with the I/O error when `path` cannot be written.
/// Nothing it allocates for itself is recorded.
pub(crate) fn write_dhat_json(path: &Path) -> io::Result<()> {
    let written = {
        let _quiet = Suspended::new();
        // Writing a file fails only with OS errors, which own no heap memory.
        match crate::heap::snapshot() {
            Some(profile) => Some(write_document_file(&document_for(&profile), path)),
            // Largest first, so the file reads in the order `call_sites()` users sort by.
            None => crate::sites::running_report().map(|(report, elapsed)| {
                let report = report.sorted_by_bytes();
                write_document_file(&call_site_document(&report, elapsed), path)
            }),
        }
    };
    // Made outside the suspended scope: this error owns an allocation, which is the caller's.
    written.unwrap_or_else(|| Err(no_profiler()))
}

/// The error of a dhat-style writer called with no dhat-style session running.
pub(crate) fn no_session() -> io::Error {
    io::Error::other("no mod_alloc::dhat_compat profiler is running")
}

/// The error of `ModAlloc::write_dhat_json` called with no profiler of either kind running.
fn no_profiler() -> io::Error {
    io::Error::other(
        "no profiler is running: start a mod_alloc::Profiler or a dhat_compat::Profiler",
    )
}
