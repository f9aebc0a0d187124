//! The profiler's global state machine and the "finish" step (summary and file).
//!
//! dhat keeps one process-wide phase: Ready, Running or PostAssert (a dhat assertion has
//! failed and its output is already written). Here it lives behind the heap profiler's spin
//! lock, which only user-facing calls take, each for a few steps; the allocator never looks
//! at it, it consults `crate::heap` alone. Like the heap's locks it is held across `fork()`
//! (see [`fork_handlers`]), so a child never inherits it held by a thread that is gone.

use std::cell::Cell;
use std::path::PathBuf;
use std::time::Instant;

use crate::diagnostics::eprint_line;
use crate::fork_lock::ForkHandlers;
use crate::heap::{self, Mode, Profile, SpinGuard, SpinLock};
use crate::report::{self, Layout};

/// How a running profiler was configured.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) mode: Mode,
    pub(super) testing: bool,
    pub(super) file_name: PathBuf,
    pub(super) max_frames: Option<usize>,
    pub(super) eprint_json: bool,
    pub(super) started: Instant,
}

#[derive(Debug)]
pub(super) enum Phase {
    Ready,
    Running(Session),
    PostAssert,
}

static PHASE: SpinLock<Phase> = SpinLock::new(Phase::Ready);

pub(super) fn lock() -> SpinGuard<'static, Phase> {
    PHASE.lock()
}

/// The phase lock's fork handlers, for [`crate::fork_lock::register_all`], which registers
/// them after the heap profiler's so that a fork takes the phase lock before the heap's
/// session lock and gives it back after. That is the order every other path takes them in
/// (`HeapStats::get` holds the phase while it waits for the session).
pub(crate) fn fork_handlers() -> ForkHandlers {
    ForkHandlers {
        before: phase_before_fork,
        after: phase_after_fork,
    }
}

unsafe extern "C" fn phase_before_fork() {
    // SAFETY: `phase_after_fork` releases it once in each process, on this thread, and
    // nothing reads the phase in between (the forking thread is inside `fork`).
    unsafe { PHASE.lock_for_fork() }
}

unsafe extern "C" fn phase_after_fork() {
    // SAFETY: taken by `phase_before_fork` on this thread (in a child, on the thread that
    // forked, which is this one) just before the fork.
    unsafe { PHASE.force_unlock() }
}

thread_local! {
    /// Set while this thread evaluates a dhat assertion's condition.
    static IN_CONDITION: Cell<bool> = const { Cell::new(false) };
}

/// dhat forbids profiler calls from inside an assertion condition with std's message for
/// its internal check; this reproduces it exactly.
#[track_caller]
pub(super) fn forbid_inside_condition() {
    if IN_CONDITION.with(Cell::get) {
        panic!("assertion failed: !ignore_allocs.was_already_ignoring_allocs");
    }
}

/// Marks the calling thread as inside a condition until dropped (also on unwinding).
pub(super) struct InCondition(());

impl InCondition {
    pub(super) fn enter() -> InCondition {
        IN_CONDITION.with(|flag| flag.set(true));
        InCondition(())
    }
}

impl Drop for InCondition {
    fn drop(&mut self) {
        IN_CONDITION.with(|flag| flag.set(false));
    }
}

/// Where finish sends the JSON.
pub(super) enum Output {
    File,
    Memory,
}

/// The backend's profile or, if it reported none, an empty one for the session.
pub(super) fn profile_or_empty(profile: Option<Profile>, session: &Session) -> Profile {
    profile.unwrap_or_else(|| Profile {
        mode: session.mode,
        heap: Default::default(),
        ad_hoc: Default::default(),
        program_points: Vec::new(),
        t_gmax_us: match session.mode {
            Mode::Heap => Some(0),
            Mode::AdHoc => None,
        },
        t_end_us: session.started.elapsed().as_micros(),
        start_frames: Vec::new(),
        first_event_frames: Vec::new(),
        start_tail: Vec::new(),
        first_event_tail: Vec::new(),
        max_frames: session.max_frames,
        // No program points, so nothing to trim.
        allocator_path: Vec::new(),
        zeroed_path: Vec::new(),
        allocator_frames: None,
    })
}

/// Stops the backend's session and prints and saves its profile. Returns the two-space
/// JSON for [`Output::Memory`], else an empty string.
pub(super) fn finish(session: &Session, output: Output) -> String {
    let _quiet = crate::thread_state::Suspended::new();
    let profile = profile_or_empty(heap::stop(), session);
    print_summary(&profile);
    let (document, notes) = report::document_and_notes(&profile);
    let mut memory = String::new();
    match output {
        Output::Memory => {
            memory = report::document_string(&document, Layout::Pretty);
            eprint_line(format_args!(
                "dhat: The data has been saved to the memory buffer"
            ));
        }
        Output::File => {
            let path = session.file_name.to_string_lossy();
            match report::write_document_file(&document, &session.file_name) {
                Ok(()) => eprint_line(format_args!(
                    "dhat: The data has been saved to {path}, and is viewable with dhat/dh_view.html"
                )),
                Err(error) => eprint_line(format_args!(
                    "dhat: error: Writing to {path} failed: {error}"
                )),
            }
        }
    }
    if session.eprint_json {
        let pretty = match output {
            Output::Memory => memory.clone(),
            Output::File => report::document_string(&document, Layout::Pretty),
        };
        eprint_line(format_args!("dhat: json = `{pretty}`"));
    }
    // After dhat's own lines, which stay as dhat prints them: why some frames are raw
    // addresses (`mod-alloc: no symbols for …`), once per module.
    for note in notes {
        eprint_line(format_args!("{note}"));
    }
    memory
}

/// dhat's summary lines, values aligned at column 18.
fn print_summary(profile: &Profile) {
    use crate::report::text::with_thousands as n;
    match profile.mode {
        Mode::Heap => {
            let totals = &profile.heap;
            eprint_line(format_args!(
                "dhat: Total:     {} bytes in {} blocks",
                n(u128::from(totals.total_bytes)),
                n(u128::from(totals.total_blocks))
            ));
            eprint_line(format_args!(
                "dhat: At t-gmax: {} bytes in {} blocks",
                n(totals.max_bytes as u128),
                n(totals.max_blocks as u128)
            ));
            eprint_line(format_args!(
                "dhat: At t-end:  {} bytes in {} blocks",
                n(totals.curr_bytes as u128),
                n(totals.curr_blocks as u128)
            ));
        }
        Mode::AdHoc => {
            let totals = &profile.ad_hoc;
            eprint_line(format_args!(
                "dhat: Total:     {} units in {} events",
                n(u128::from(totals.total_units)),
                n(u128::from(totals.total_events))
            ));
        }
    }
}
