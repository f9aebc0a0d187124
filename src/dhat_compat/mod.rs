//! The `dhat` 0.3.3 API, as a drop-in replacement (feature `dhat-compat`).
//!
//! Change one line and keep the rest of the program:
//!
//! ```
//! use mod_alloc::dhat_compat as dhat;
//!
//! #[global_allocator]
//! static ALLOC: dhat::Alloc = dhat::Alloc;
//!
//! fn main() {
//!     let _profiler = dhat::Profiler::builder().file_name(std::env::temp_dir().join("doc-heap.json")).build();
//!     let v = vec![1u8, 2, 3];
//!     drop(v);
//!     // `_profiler` drops here: a summary goes to stderr and the DHAT file is written.
//! }
//! ```
//!
//! Every public item of dhat 0.3.3 is here at the same path, with the same types, derives,
//! panic messages, stderr lines and JSON, including the hidden items dhat's own tests use.
//! The assertion macros are reachable as `dhat::assert!`, `dhat::assert_eq!` and
//! `dhat::assert_ne!` through the alias above; they use `$crate` paths, so the module may be
//! imported under any name.
//!
//! # Assertion forms
//!
//! As in dhat, `assert!(cond)` and `assert!(cond, fmt, args..)`, `assert_eq!(l, r)`,
//! `assert_eq!(l, r,)` and `assert_eq!(l, r, fmt, args..)`, `assert_ne!(l, r)` and
//! `assert_ne!(l, r, fmt, args..)`. A trailing comma is refused after `assert!`'s condition
//! and after `assert_ne!`'s operands:
//!
//! ```compile_fail
//! use mod_alloc::dhat_compat as dhat;
//! let _profiler = dhat::Profiler::builder().testing().build();
//! dhat::assert!(true,);
//! ```
//!
//! ```compile_fail
//! use mod_alloc::dhat_compat as dhat;
//! let _profiler = dhat::Profiler::builder().testing().build();
//! dhat::assert_ne!(1, 2,);
//! ```
//!
//! # How it differs from dhat
//!
//! The figures come from this crate's allocator: each thread records into its own tables,
//! under a lock only it takes on the common path, and call sites are captured by a
//! frame-pointer walk, or by the system unwinder on Windows (at most 64 physical frames, also
//! with `trim_backtraces(None)`). The deliberate differences, each listed in
//! `MIGRATING_FROM_DHAT.md`:
//!
//! - Program points whose printed frame lists come out identical after trimming are merged
//!   into one, so DHAT's viewer never rejects a file with "repeated location" (dhat #29).
//!   Their sums are exact; the merged `mb` is the largest of the parts' `mb`, `Σgb` and `Σeb`.
//! - Command-line arguments that are not valid Unicode appear lossily in `cmd` instead of
//!   panicking.
//! - A failure to flush the file at the end is reported like any other write error.
//! - Frames without symbols print as `0x…: ??? (???:0:0)` instead of being left out, and a
//!   finished profile prints, after dhat's lines, one `mod-alloc: no symbols for <module>;
//!   frames show raw addresses` line per module that named nothing.
//! - [`Profiler::write_json_to`] and [`Profiler::json_string`] output the profile so far at
//!   any moment, without stopping it (dhat #21, #36).
//! - With several threads, each thread's heap events reach the shared figures in batches
//!   (flushed at 512 events, at 64 program points, or once they move more than 64 KiB), so
//!   the peak is that of an order in which a thread's pending events may sit slightly off
//!   the wall-clock order; a single thread gets dhat's
//!   figures exactly, and totals, current figures and the profile's invariants are exact.

mod macros;
mod state;

pub(crate) use state::fork_handlers;

use std::alloc::{GlobalAlloc, Layout};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::heap::{self, Mode};
use crate::report;
use crate::thread_state::{HeapQuiet, Suspended, Unrecorded};

use self::state::{forbid_inside_condition, InCondition, Output, Phase, Session};

#[doc(inline)]
pub use crate::__dhat_compat_assert as assert;
#[doc(inline)]
pub use crate::__dhat_compat_assert_eq as assert_eq;
#[doc(inline)]
pub use crate::__dhat_compat_assert_ne as assert_ne;

/// The global allocator to install for heap profiling: `static ALLOC: dhat::Alloc = dhat::Alloc;`.
///
/// A zero-sized value that forwards every call to [`crate::ModAlloc`] over the system
/// allocator, so the counters and call sites of this crate see every allocation. Like dhat's
/// `Alloc`, it has no `alloc_zeroed` of its own: a zeroed allocation is an `alloc`, then
/// zeroing, which keeps the code around the allocator, and so dhat's call stacks, as they are
/// under dhat.
#[derive(Debug)]
pub struct Alloc;

// SAFETY: every method forwards its arguments unchanged to `ModAlloc<System>`, itself a
// correct `GlobalAlloc`, and returns its result unchanged.
//
// The methods are never inlined, like dhat's: a `GlobalAlloc` of the program's own that
// wraps this one is then as small as one around dhat's, and is inlined into its callers, or
// not, as that would be, which keeps dhat's frame counts (see `report::dhat`). The call
// costs nothing measurable next to the rest of an event (`bench/`).
//
// `alloc_zeroed` is `GlobalAlloc`'s default, `alloc` and then zeroing, as in dhat, for the
// same reason: that default method is compiled with the program, and the frames it leaves
// (an optimised `__rust_alloc_zeroed` shim that calls `alloc` when code outside the program's
// crate calls it; a frame of its own when unoptimised) are in dhat's stacks and count towards
// its `trim_backtraces`. With them, zeroed allocations get dhat's program points.
unsafe impl GlobalAlloc for Alloc {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { GlobalAlloc::alloc(&crate::ModAlloc::new(), layout) }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `Alloc`, i.e. from an equal `ModAlloc<System>`, with `layout`.
        unsafe { GlobalAlloc::dealloc(&crate::ModAlloc::new(), ptr, layout) }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, which we pass on.
        unsafe { GlobalAlloc::realloc(&crate::ModAlloc::new(), ptr, layout, new_size) }
    }
}

/// A running profiler. Profiling stops when it is dropped, which prints a summary to stderr
/// and writes the DHAT file (in testing mode: nothing, unless an assertion failed).
///
/// Only one profiler may run at a time in a process; they may run one after another.
///
/// ```
/// use mod_alloc::dhat_compat as dhat;
///
/// let profiler = dhat::Profiler::builder().testing().build();
/// let stats = dhat::HeapStats::get();
/// dhat::assert_eq!(stats.curr_blocks, stats.curr_blocks);
/// drop(profiler); // testing mode: no output
/// ```
#[derive(Debug)]
pub struct Profiler;

impl Profiler {
    /// Starts a heap profiler with the default settings; `Profiler::builder().build()`.
    pub fn new_heap() -> Self {
        Self::builder().build()
    }

    /// Starts an ad hoc profiler; `Profiler::builder().ad_hoc().build()`.
    pub fn new_ad_hoc() -> Self {
        Self::builder().ad_hoc().build()
    }

    /// A builder with the defaults: heap mode, not testing, the default file name and
    /// `trim_backtraces(Some(10))`.
    pub fn builder() -> ProfilerBuilder {
        ProfilerBuilder {
            ad_hoc: false,
            testing: false,
            file_name: None,
            trim_backtraces: Some(10),
            eprint_json: false,
        }
    }

    /// Stops profiling like a drop, but returns the JSON (two-space layout) instead of
    /// writing a file. Returns `""` in testing mode or after a failed assertion. The value
    /// must not be dropped afterwards (wrap it in `ManuallyDrop`).
    #[doc(hidden)]
    pub fn drop_and_get_memory_output(&mut self) -> String {
        stop_profiler(Output::Memory)
    }

    /// Writes the profile so far as a DHAT file (one item per line) to `writer`, without
    /// stopping.
    ///
    /// The profiler's own work is not recorded. What `writer` allocates is: it is the
    /// caller's code, like any other.
    ///
    /// This is not in dhat. Fails if no profiler is running (e.g. after a failed assertion).
    pub fn write_json_to<W: Write>(&self, writer: W) -> io::Result<()> {
        let document = current_document();
        let document = document.as_ref().ok_or_else(report::no_session)?;
        let mut writer = report::write_document(document, report::Layout::File, writer)?;
        writer.flush()
    }

    /// The profile so far as two-space pretty JSON, like dhat's memory buffer, without
    /// stopping.
    ///
    /// The heap profile records none of this, the returned `String` included, so a profile
    /// can be looked at without changing it. The `String` is the caller's memory: the
    /// counters of [`crate::ModAlloc`] (for example a [`crate::ThreadProfiler`]) see it
    /// allocated, one block of its exact length, as they see it freed. The profiler's own
    /// work is not counted.
    ///
    /// This is not in dhat. Fails if no profiler is running.
    pub fn json_string(&self) -> io::Result<String> {
        let document = current_document();
        let document = document.as_ref().ok_or_else(report::no_session)?;
        let text = Unrecorded::make(|| report::document_string(document, report::Layout::Pretty));
        // Copied out in view of the counters, which will see its free, but not of the heap
        // profile, which would change by looking at it.
        let _quiet = HeapQuiet::new();
        Ok(String::from(text.as_str()))
    }
}

impl Drop for Profiler {
    fn drop(&mut self) {
        stop_profiler(Output::File);
    }
}

/// The running session's profile, resolved, or `None` if no profiler runs. It is built and
/// later freed with this thread's recording suspended.
fn current_document() -> Unrecorded<Option<report::DhatDocument>> {
    Unrecorded::make(|| {
        let phase = state::lock();
        let Phase::Running(session) = &*phase else {
            return None;
        };
        let profile = state::profile_or_empty(heap::snapshot(), session);
        drop(phase);
        Some(report::document_for(&profile))
    })
}

/// The shared end of `drop` and `drop_and_get_memory_output`.
fn stop_profiler(output: Output) -> String {
    // dhat's check, except while unwinding, where a second panic would abort the process.
    if !std::thread::panicking() {
        forbid_inside_condition();
    }
    // The session was made with recording suspended (see `build`) and is freed that way.
    let memory = Unrecorded::make(|| {
        let previous = std::mem::replace(&mut *state::lock(), Phase::Ready);
        match previous {
            Phase::Running(session) if session.testing => {
                drop(heap::stop());
                Some(String::new())
            }
            Phase::Running(session) => Some(state::finish(&session, output)),
            Phase::PostAssert => Some(String::new()),
            Phase::Ready => None,
        }
    });
    match &*memory {
        // The memory output is handed over as a copy that counts as the caller's allocation.
        Some(memory) => String::from(memory.as_str()),
        // dhat's panic for a profiler that is not running (a literal `Profiler`), raised with
        // recording on: whoever catches it frees its payload in view of the counters.
        None => unreachable!(),
    }
}

/// Configures a [`Profiler`]. Every method takes and returns the builder by value.
#[derive(Debug)]
pub struct ProfilerBuilder {
    ad_hoc: bool,
    testing: bool,
    file_name: Option<PathBuf>,
    trim_backtraces: Option<usize>,
    eprint_json: bool,
}

impl ProfilerBuilder {
    /// Ad hoc mode: record [`ad_hoc_event`] calls instead of heap allocations.
    pub fn ad_hoc(mut self) -> Self {
        self.ad_hoc = true;
        self
    }

    /// Testing mode: enables the `dhat::assert*!` macros; the file is written only when one
    /// of them fails.
    pub fn testing(mut self) -> Self {
        self.testing = true;
        self
    }

    /// The output file, `dhat-heap.json` or `dhat-ad-hoc.json` by default. It is created
    /// (or truncated) when written; a relative path is resolved at that moment.
    pub fn file_name<P: AsRef<Path>>(mut self, file_name: P) -> Self {
        self.file_name = Some(file_name.as_ref().to_path_buf());
        self
    }

    /// Trims each backtrace to at most `max_frames` physical frames (at least 4; default
    /// 10), and cuts the allocator's frames above and the runtime's frames below `main`.
    /// `None` turns all trimming off (this crate's walk still stops at 64 frames).
    pub fn trim_backtraces(mut self, max_frames: Option<usize>) -> Self {
        self.trim_backtraces = max_frames.map(|max| max.max(4));
        self
    }

    /// Also prints the JSON to stderr at the end (used by dhat's own tests).
    #[doc(hidden)]
    pub fn eprint_json(mut self) -> Self {
        self.eprint_json = true;
        self
    }

    /// Starts profiling.
    ///
    /// # Panics
    ///
    /// If a profiler is already running (or has asserted and not been dropped).
    pub fn build(self) -> Profiler {
        forbid_inside_condition();
        // The caller's path was allocated while recording, so it is freed while recording,
        // after `_quiet` is gone; the session keeps a copy.
        let requested_file_name = self.file_name;
        let mode = if self.ad_hoc { Mode::AdHoc } else { Mode::Heap };
        let mut phase = state::lock();
        loop {
            if !matches!(*phase, Phase::Ready) {
                drop(phase);
                // Recording is on here (see `panic_static`); dhat's profile leaves it out.
                panic_static("dhat: creating a profiler while a profiler is already running");
            }
            // Like dhat, the start's own work is not recorded.
            let started = {
                let _quiet = Suspended::new();
                heap::start(mode, self.trim_backtraces)
            };
            if started {
                break;
            }
            // A profiler dropped on another thread is between marking the phase `Ready` and
            // stopping its session, a few instructions away (see `state::finish`). dhat's
            // `build` waits for a dropping profiler too, behind its lock.
            drop(phase);
            std::thread::yield_now();
            phase = state::lock();
        }
        // Like dhat, neither the file name nor the session is recorded; the session is freed
        // with recording suspended too.
        let _quiet = Suspended::new();
        let file_name = match &requested_file_name {
            Some(path) => path.clone(),
            None => PathBuf::from(match mode {
                Mode::Heap => "dhat-heap.json",
                Mode::AdHoc => "dhat-ad-hoc.json",
            }),
        };
        *phase = Phase::Running(Session {
            mode,
            testing: self.testing,
            file_name,
            max_frames: self.trim_backtraces,
            eprint_json: self.eprint_json,
            started: std::time::Instant::now(),
        });
        drop(phase);
        if mode == Mode::Heap
            && self.trim_backtraces.is_some()
            && heap::named_allocator_frames().is_none()
        {
            // Once per process, after the first heap session's start has calibrated the walk,
            // so that its program points are keyed by the frames dhat's would be. Not under
            // the phase lock: a fork takes the symbolizer's locks before that one.
            heap::set_allocator_frames(report::allocator_frames_of_this_build());
        }
        Profiler
    }
}

/// Global heap figures of the running heap profiler.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeapStats {
    /// Blocks allocated since the profiler started (a realloc counts as a new block).
    pub total_blocks: u64,
    /// Bytes allocated since the profiler started.
    pub total_bytes: u64,
    /// Blocks live now.
    pub curr_blocks: usize,
    /// Bytes live now.
    pub curr_bytes: usize,
    /// Blocks live at the moment `curr_bytes` last reached `max_bytes`.
    pub max_blocks: usize,
    /// The peak of `curr_bytes`.
    pub max_bytes: usize,
}

/// Figures of the running ad hoc profiler.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdHocStats {
    /// Events recorded.
    pub total_events: u64,
    /// Sum of the events' weights.
    pub total_units: u64,
}

impl HeapStats {
    /// The current figures.
    ///
    /// # Panics
    ///
    /// If no profiler is running, a dhat assertion has failed, or the profiler is ad hoc.
    pub fn get() -> Self {
        forbid_inside_condition();
        let message = match &*state::lock() {
            Phase::Running(session) if session.mode == Mode::Heap => {
                let totals = heap::heap_totals();
                return HeapStats {
                    total_blocks: totals.total_blocks,
                    total_bytes: totals.total_bytes,
                    curr_blocks: totals.curr_blocks,
                    curr_bytes: totals.curr_bytes,
                    max_blocks: totals.max_blocks,
                    max_bytes: totals.max_bytes,
                };
            }
            Phase::Running(_) => "dhat: getting heap stats while doing ad hoc profiling",
            Phase::Ready => "dhat: getting heap stats when no profiler is running",
            Phase::PostAssert => "dhat: getting heap stats after the profiler has asserted",
        };
        panic_static(message)
    }
}

impl AdHocStats {
    /// The current figures.
    ///
    /// # Panics
    ///
    /// If no profiler is running, a dhat assertion has failed, or the profiler is a heap one.
    pub fn get() -> Self {
        forbid_inside_condition();
        let message = match &*state::lock() {
            Phase::Running(session) if session.mode == Mode::AdHoc => {
                let totals = heap::ad_hoc_totals();
                return AdHocStats {
                    total_events: totals.total_events,
                    total_units: totals.total_units,
                };
            }
            Phase::Running(_) => "dhat: getting ad hoc stats while doing heap profiling",
            Phase::Ready => "dhat: getting ad hoc stats when no profiler is running",
            Phase::PostAssert => "dhat: getting ad hoc stats after the profiler has asserted",
        };
        panic_static(message)
    }
}

/// Records an event of `weight` units at the caller's call site, if an ad hoc profiler is
/// running; does nothing otherwise.
#[inline(never)]
pub fn ad_hoc_event(weight: usize) {
    forbid_inside_condition();
    heap::ad_hoc_event(weight);
    // dhat shows this function as the first frame of every ad hoc point, and the capture
    // starts at the return address into it. Work after the call that the optimiser must
    // keep stops it from becoming a tail jump, which would leave no frame of ours to show.
    core::hint::black_box(weight);
}

/// The engine of the assertion macros: evaluates `cond` and returns `true` when it *failed*,
/// after stopping the profiler and writing its output.
///
/// # Panics
///
/// If no profiler is running, it is not in testing mode, or an assertion already failed.
#[doc(hidden)]
pub fn check_assert_condition<F: FnOnce() -> bool>(cond: F) -> bool {
    forbid_inside_condition();
    let message = match &*state::lock() {
        Phase::Running(session) if session.testing => None,
        Phase::Running(_) => Some("dhat: asserting while not in testing mode"),
        Phase::Ready => Some("dhat: asserting when no profiler is running"),
        Phase::PostAssert => Some("dhat: asserting after the profiler has asserted"),
    };
    if let Some(message) = message {
        panic_static(message);
    }
    // The condition is the caller's code: like dhat, the heap profile leaves it out, but the
    // counters see it (what it frees may have been allocated in view, and the reverse).
    let held = {
        let _quiet = HeapQuiet::new();
        let _inside = InCondition::enter();
        cond()
    };
    if held {
        return false;
    }
    // The lock was released while `cond` ran; finish only if our profiler still runs (another
    // thread may have dropped it meanwhile, and then there is nothing left to report).
    let finished = {
        let mut phase = state::lock();
        match &*phase {
            Phase::Running(_) => Some(std::mem::replace(&mut *phase, Phase::PostAssert)),
            Phase::Ready | Phase::PostAssert => None,
        }
    };
    // The session was made with recording suspended and is freed that way.
    let _quiet = Suspended::new();
    if let Some(Phase::Running(session)) = finished {
        state::finish(&session, Output::File);
    }
    true
}

/// Panics with a `&'static str` payload, as dhat's state errors do. The lock is already
/// released, so a panic hook may call back into this module. Call it with recording on: the
/// payload outlives the panic, and whoever catches it frees it in view of the counters.
///
/// dhat raises these panics while its guard against recording its own allocations is alive,
/// so the panic machinery's allocations (the payload box, the exception, the hook's work)
/// are not in its profile; the guard only goes when unwinding leaves the function. Holding
/// [`HeapQuiet`] across the panic keeps them out of the heap profile the same way, while the
/// counters see them allocated as well as freed.
#[track_caller]
fn panic_static(message: &'static str) -> ! {
    let _quiet = HeapQuiet::new();
    std::panic::panic_any(message)
}

/// Runs `f` and checks that it panics with the message `expected` (used by dhat's tests).
///
/// # Panics
///
/// If `f` does not panic, panics with a message other than `expected`, or with a payload
/// that is not a string.
#[doc(hidden)]
pub fn assert_is_panic<R, F: FnOnce() -> R + std::panic::UnwindSafe>(f: F, expected: &str) {
    let payload = match std::panic::catch_unwind(f) {
        Ok(_) => panic!("assert_is_panic: Not an error"),
        Err(payload) => payload,
    };
    let actual = if let Some(text) = payload.downcast_ref::<&str>() {
        *text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.as_str()
    } else {
        panic!("assert_is_panic: Not a string: {:?}", payload)
    };
    std::assert_eq!(expected, actual);
}

/// What dhat 0.3.3's types do *not* implement, checked because a derive added here would
/// compile every user's code and still differ from dhat. Each block must fail to compile.
///
/// `Profiler` is not `Clone`, `Copy` or `Default`:
///
/// ```compile_fail,E0277
/// fn needs<T: Clone>() {}
/// needs::<mod_alloc::dhat_compat::Profiler>();
/// ```
///
/// ```compile_fail,E0277
/// fn needs<T: Copy>() {}
/// needs::<mod_alloc::dhat_compat::Profiler>();
/// ```
///
/// ```compile_fail,E0277
/// fn needs<T: Default>() {}
/// needs::<mod_alloc::dhat_compat::Profiler>();
/// ```
///
/// `ProfilerBuilder` is not `Clone` or `Default`:
///
/// ```compile_fail,E0277
/// fn needs<T: Clone>() {}
/// needs::<mod_alloc::dhat_compat::ProfilerBuilder>();
/// ```
///
/// ```compile_fail,E0277
/// fn needs<T: Default>() {}
/// needs::<mod_alloc::dhat_compat::ProfilerBuilder>();
/// ```
///
/// `HeapStats` and `AdHocStats` are not `Copy`, `Default` or `Hash`:
///
/// ```compile_fail,E0277
/// fn needs<T: Copy>() {}
/// needs::<mod_alloc::dhat_compat::HeapStats>();
/// ```
///
/// ```compile_fail,E0277
/// fn needs<T: Default>() {}
/// needs::<mod_alloc::dhat_compat::HeapStats>();
/// ```
///
/// ```compile_fail,E0277
/// fn needs<T: std::hash::Hash>() {}
/// needs::<mod_alloc::dhat_compat::HeapStats>();
/// ```
///
/// ```compile_fail,E0277
/// fn needs<T: Copy>() {}
/// needs::<mod_alloc::dhat_compat::AdHocStats>();
/// ```
///
/// ```compile_fail,E0277
/// fn needs<T: Default>() {}
/// needs::<mod_alloc::dhat_compat::AdHocStats>();
/// ```
///
/// ```compile_fail,E0277
/// fn needs<T: std::hash::Hash>() {}
/// needs::<mod_alloc::dhat_compat::AdHocStats>();
/// ```
///
/// `HeapStats` and `AdHocStats` are `#[non_exhaustive]`: code outside the crate reads their
/// fields but cannot build one with a struct literal:
///
/// ```compile_fail,E0639
/// let _ = mod_alloc::dhat_compat::HeapStats {
///     total_blocks: 0,
///     total_bytes: 0,
///     curr_blocks: 0,
///     curr_bytes: 0,
///     max_blocks: 0,
///     max_bytes: 0,
/// };
/// ```
///
/// ```compile_fail,E0639
/// let _ = mod_alloc::dhat_compat::AdHocStats {
///     total_events: 0,
///     total_units: 0,
/// };
/// ```
///
/// Neither the profiler nor its builder's `build` is `#[must_use]` (this one must compile):
///
/// ```no_run
/// #![deny(unused_must_use)]
/// mod_alloc::dhat_compat::Profiler::builder().build();
/// mod_alloc::dhat_compat::Profiler::new_heap();
/// ```
#[cfg(doctest)]
pub struct NotDerived;
