//! Call sites (feature `backtraces`): which code asked for memory, how often and how much.
//!
//! # The path of one event
//!
//! While call-site capture is on, [`crate::ModAlloc`] walks the stack into a buffer on its
//! own stack ([`crate::walk::capture`]) and hands the frames to [`record`]. That looks the
//! frame list up in the calling thread's [`threads::ThreadSites`] cache, which remembers the
//! sites the thread met recently (about a thousand) and counts the event there. Only on a
//! miss does it hash the frames and find or insert them in the process-wide
//! [`table::Table`]. When capture is off the allocator pays one relaxed load of a flag
//! ([`capture_active`]).
//!
//! Nothing here allocates through the global allocator: the table, frame buffers and
//! per-thread blocks come from [`std::alloc::System`]. Nothing takes a lock on the hot path;
//! the only wait is an inserter's bounded spin on a slot another thread is filling.
//!
//! # Sessions
//!
//! Capture is on while at least one [`Session`] lives; each [`crate::Profiler`] holds one.
//! A session that starts while none is running begins a new *generation*: the table is swept
//! empty (its memory and grown segments are kept) and the unattributed-event figures take a
//! new baseline. A session that starts while others run joins their generation, so
//! overlapping profilers share one table and a report covers every event since the generation
//! began, also once the session that began it has ended. Events racing with the start or end
//! of a generation may land on either side of it, or be dropped from the finished one;
//! nothing else is lost silently, and no event is ever credited to a site it did not come
//! from (see "Stragglers" in [`threads`](mod@threads)).
//!
//! # Reports
//!
//! [`report`] reads the table with recording suspended but hands back a report allocated
//! with the caller's recording on: it is the caller's memory, and whoever frees it later does
//! so recorded, so its allocation must be recorded too for the figures to balance.
//!
//! # Unattributed events
//!
//! An event gets no site when its walk captured no frame, when its frame list found no room
//! in the table (see [`table`](mod@table) for the bounds), or when it gave up waiting for another
//! thread's claim of its slot. Each reason is counted per thread and reported.
//!
//! # Capacity
//!
//! The first segment's capacity comes from `MOD_ALLOC_BUCKETS` (see [`config`]), read in user
//! context before the control lock is taken, and used by the first session.

mod config;
mod primitive;
mod table;
mod threads;

use core::ptr;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::MutexGuard;
use std::time::Instant;

use crate::callsite::{CallSite, CallSiteReport};
use crate::diagnostics::stderr_line;
use crate::fork_lock::ForkHandlers;
use crate::thread_state::Suspended;
use crate::walk::{DEFAULT_FRAMES, MAX_FRAMES};

use table::{hash_frames, Table, Unplaced};
use threads::{EventFigures, Unattributed, LOCAL};

#[allow(unused_imports)] // for the thread-exit hook in `thread_state`
pub(crate) use threads::release_current as release_thread;

/// A call site's index in the table; stable for the life of a generation. 0 is never a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SiteId(pub(crate) u32);

/// Whether call-site capture is on. Read relaxed on every allocator call.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The table, created by the first session and never freed.
static TABLE: AtomicPtr<Table> = AtomicPtr::new(ptr::null_mut());

/// The current generation (0 before the first session).
static GENERATION: AtomicU32 = AtomicU32::new(0);

/// Frames each walk captures, at most [`MAX_FRAMES`].
static DEPTH: AtomicUsize = AtomicUsize::new(DEFAULT_FRAMES);

/// Session bookkeeping; only ever locked in user context, never inside the allocator.
struct Control {
    /// How many running sessions asked for each capture depth (index: frames).
    depths: [usize; MAX_FRAMES + 1],
    table_tried: bool,
    baseline: EventFigures,
    /// When the current generation began: the start of the session that began it (which may
    /// have ended since), the span a report covers. `None` before the first session.
    started: Option<Instant>,
}

impl Control {
    /// How many sessions are running.
    fn running(&self) -> usize {
        self.depths.iter().sum()
    }

    /// The deepest capture a running session asked for; the default when none runs.
    fn deepest_request(&self) -> usize {
        self.depths
            .iter()
            .rposition(|&sessions| sessions > 0)
            .unwrap_or(DEFAULT_FRAMES)
    }
}

crate::fork_lock::fork_safe_mutex! {
    static CONTROL: Control = Control {
        depths: [0; MAX_FRAMES + 1],
        table_tried: false,
        baseline: EventFigures {
            events: 0,
            frames: 0,
            zero_frames: 0,
            unplaced: 0,
            busy: 0,
        },
        started: None,
    };
}

/// The control lock's fork handlers, for [`crate::fork_lock::register_all`].
pub(crate) fn fork_handlers() -> ForkHandlers {
    CONTROL.fork_handlers()
}

fn control() -> MutexGuard<'static, Control> {
    // Nothing panics while holding the lock, but a poisoned lock still holds sound data.
    CONTROL.lock()
}

/// Whether call-site capture is on.
#[inline(always)]
pub(crate) fn capture_active() -> bool {
    ACTIVE.load(Relaxed)
}

/// Frames each walk should capture: the depth asked for, and room for the allocator frames
/// that [`record`] drops.
#[inline(always)]
pub(crate) fn capture_depth() -> usize {
    (DEPTH.load(Relaxed) + crate::walk::zeroed_frames_kept()).min(MAX_FRAMES)
}

/// Records one allocator event of `size` bytes whose walk captured `frames`.
///
/// The table keeps no allocator frame, where the heap profiler keeps those that a default
/// `alloc_zeroed` adds, as dhat does (`walk::past_zeroed_frames`): they are dropped here, out
/// of the allocator's inlined path, and the rest cut to the depth asked for.
#[inline(never)]
pub(crate) fn record(frames: &[usize], size: usize) {
    let frames = if crate::walk::zeroed_frames_kept() == 0 {
        frames
    } else {
        let frames = crate::walk::past_zeroed_frames(frames);
        &frames[..frames.len().min(DEPTH.load(Relaxed))]
    };
    let done = LOCAL.try_with(|local| {
        // The crate's own work (reports, symbolication) runs with recording suspended.
        if !crate::thread_state::recording() {
            return true;
        }
        // The common case: a block, no synthetic frames, and a site this thread has met.
        if let Some(block) = local.fast_block() {
            // Acquire: pairs with the Release store in `Session::start` that follows the
            // sweep, so on a miss the sweep's EMPTY slots are what we probe (a stale view
            // could duplicate a site).
            let generation = GENERATION.load(Acquire);
            if !block.record_cached(generation, frames, size as u64) {
                record_uncached(block, generation, frames, size as u64);
            }
            return true;
        }
        record_slow(local, frames, size)
    });
    if done != Ok(true) {
        threads::record_orphan();
    }
}

/// `record` for a thread without a usable fast path: no block yet, a released block, or
/// synthetic frames installed. `false` if the event reached no block.
#[cold]
#[inline(never)]
fn record_slow(local: &threads::Local, frames: &[usize], size: usize) -> bool {
    let Some(block) = local.block() else {
        return false;
    };
    let (synthetic, synthetic_len) = local.synthetic();
    let frames = if synthetic.is_null() {
        frames
    } else {
        // SAFETY: `with_synthetic_frames` keeps this slice alive while it is installed.
        unsafe { core::slice::from_raw_parts(synthetic, synthetic_len) }
    };
    // Acquire: as in `record`.
    let generation = GENERATION.load(Acquire);
    if !block.record_cached(generation, frames, size as u64) {
        record_uncached(block, generation, frames, size as u64);
    }
    true
}

/// Counts an event whose site is not in the thread's cache (or that has no frames).
#[inline(never)]
fn record_uncached(block: &threads::ThreadSites, generation: u32, frames: &[usize], bytes: u64) {
    if frames.is_empty() {
        block.record_unattributed(0, Unattributed::NoFrames);
        return;
    }
    let Some(table) = table() else {
        block.record_unattributed(frames.len(), Unattributed::Unplaced);
        return;
    };
    match table.intern(frames, hash_frames(frames), generation) {
        Ok(site) => block.record_site(generation, site, frames, bytes),
        Err(Unplaced::Full) => block.record_unattributed(frames.len(), Unattributed::Unplaced),
        Err(Unplaced::Busy) => block.record_unattributed(frames.len(), Unattributed::Busy),
    }
}

#[inline(always)]
fn table() -> Option<&'static Table> {
    // Acquire: pairs with the Release store that published the initialised table.
    let table = TABLE.load(Acquire);
    // SAFETY: a non-null pointer is a table initialised before publication and never freed.
    unsafe { table.as_ref() }
}

/// Runs `f` with every event of the calling thread attributed to `frames` instead of the
/// walked stack. For tests of the table through the real allocator path.
pub(crate) fn with_synthetic_frames<R>(frames: &[usize], f: impl FnOnce() -> R) -> R {
    struct Restore((*const usize, usize));
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = LOCAL.try_with(|local| local.replace_synthetic(self.0));
        }
    }
    let installed = (frames.as_ptr(), frames.len().min(MAX_FRAMES));
    let previous = LOCAL
        .try_with(|local| local.replace_synthetic(installed))
        .unwrap_or((ptr::null(), 0));
    let _restore = Restore(previous);
    f()
}

/// Keeps call-site capture on while it lives, walking at least as many frames as it asked for.
#[derive(Debug)]
pub(crate) struct Session {
    frames: usize,
}

impl Session {
    /// Turns capture on, starting a new generation if no other session is running. Each walk
    /// captures up to `frames` return addresses (clamped to `1..=MAX_FRAMES`), or more while
    /// another running session asks for more.
    pub(crate) fn start(frames: usize) -> Session {
        let frames = frames.clamp(1, MAX_FRAMES);
        let _suspended = Suspended::new();
        // Read before the lock, never under it: std holds its environment lock across the
        // `fork` in `Command::spawn`, a waiting `set_var` keeps new readers out, and a fork
        // waits for this lock (`tests/reliability_fork_env_lock.rs`).
        let buckets_var = match table() {
            None => std::env::var_os(config::BUCKETS_VAR),
            Some(_) => None,
        };
        let mut control = control();
        let first = control.running() == 0;
        control.depths[frames] += 1;
        // Relaxed: a walk that reads the old depth only keeps a different number of frames.
        DEPTH.store(control.deepest_request(), Relaxed);
        let mut warning = None;
        if first {
            let table = if control.table_tried {
                table()
            } else {
                let (table, bad_setting) = create_table(&mut control, buckets_var.as_deref());
                warning = bad_setting;
                table
            };
            if let Some(table) = table {
                table.sweep();
            }
            let next = match GENERATION.load(Relaxed) {
                g if g >= table::MAX_GENERATION => 1,
                g => g + 1,
            };
            // Release: the sweep above happens-before any event that reads this generation
            // with Acquire (see `record`).
            GENERATION.store(next, Release);
            control.baseline = threads::figures();
            control.started = Some(Instant::now());
            // Release: not needed by the hot path (it reloads the generation with Acquire),
            // but orders everything above before capture is seen on.
            ACTIVE.store(true, Release);
        }
        // Printed once the lock is released: a stderr that blocks (a full pipe) must not
        // hold up other profilers, or a fork, waiting for it.
        drop(control);
        if let Some(warning) = warning {
            stderr_line(format_args!("{warning}"));
        }
        Session { frames }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let mut control = control();
        control.depths[self.frames] -= 1;
        DEPTH.store(control.deepest_request(), Relaxed);
        if control.running() == 0 {
            ACTIVE.store(false, Relaxed);
        }
    }
}

/// Publishes the table sized by `buckets_var`, the value of `MOD_ALLOC_BUCKETS` (read by the
/// caller before it took the lock); also returns the setting's one warning, if any, for the
/// caller to print.
#[cold]
fn create_table(
    control: &mut Control,
    buckets_var: Option<&std::ffi::OsStr>,
) -> (Option<&'static Table>, Option<String>) {
    control.table_tried = true;
    let setting = config::parse_buckets(buckets_var);
    (publish_table(setting.buckets), setting.warning)
}

/// Makes the table with `buckets` and publishes it; `None` if it could not be made.
fn publish_table(buckets: usize) -> Option<&'static Table> {
    let table = Table::new(buckets)?;
    let layout = Layout::new::<Table>();
    // SAFETY: `Table` has a non-zero size.
    let memory = unsafe { System.alloc(layout) }.cast::<Table>();
    if memory.is_null() {
        return None;
    }
    // SAFETY: fresh memory with room and alignment for one `Table`.
    unsafe { memory.write(table) };
    // Release: publishes the initialised table to the Acquire loads in `table()`.
    TABLE.store(memory, Release);
    // SAFETY: just initialised, and never freed.
    Some(unsafe { &*memory })
}

/// The call sites of the current generation, in memory the caller owns. Call only while a
/// session runs.
///
/// Reading the table happens with recording suspended, into scratch memory freed the same
/// way, so that work never shows up. The report itself is then copied out with the caller's
/// recording as it stands: one block for the list of sites (none if there are no sites) and
/// one per site for its frames, each allocated at its exact length. Whoever frees those
/// blocks later, wherever, does so recorded; allocating them unrecorded would make every
/// window that frees a report count frees it never saw allocated. (A `Drop` impl that
/// suspends recording could not help: the report's vectors are public fields that can be
/// moved out, taken or cloned and freed anywhere.)
pub(crate) fn report() -> CallSiteReport {
    let scratch = {
        let _suspended = Suspended::new();
        read_sites()
    };
    // `Vec::clone` allocates exactly `len` elements, so the blocks are predictable.
    let report = scratch.clone();
    let _suspended = Suspended::new();
    drop(scratch);
    report
}

/// The current generation's report and the time since that generation began, or `None`
/// when no session runs: what `ModAlloc::write_dhat_json` writes when no dhat-style session
/// does. Call it with the calling thread's recording suspended, and free the report the same
/// way: unlike [`report`], it is the crate's own scratch memory, never handed to the caller.
///
/// The control lock is held throughout, so no session can end, and no new generation sweep
/// the table, while it is read.
#[cfg(feature = "dhat-compat")]
pub(crate) fn running_report() -> Option<(CallSiteReport, std::time::Duration)> {
    let control = control();
    if control.running() == 0 {
        return None;
    }
    let report = read_generation(control.baseline);
    let elapsed = control
        .started
        .map_or(std::time::Duration::ZERO, |started| started.elapsed());
    Some((report, elapsed))
}

/// The report of the current generation, built with the calling thread's recording
/// suspended; free it the same way.
fn read_sites() -> CallSiteReport {
    let baseline = control().baseline;
    read_generation(baseline)
}

/// [`read_sites`] with the generation's `baseline` already read; must not take the control
/// lock, which [`running_report`] holds around it.
fn read_generation(baseline: EventFigures) -> CallSiteReport {
    // Acquire: as in `record`; also makes every site published so far visible.
    let generation = GENERATION.load(Acquire);
    let mut ids = Vec::new();
    let mut sites = Vec::new();
    let (mut table_slots, mut table_segments) = (0, 0);
    if let Some(table) = table() {
        (table_slots, table_segments) = table.capacity();
        table.for_each_site(generation, |id, slot| {
            let mut frames = Vec::new();
            slot.copy_frames(&mut frames);
            ids.push(id);
            sites.push(CallSite {
                frames,
                count: slot.count.load(Relaxed),
                bytes: slot.bytes.load(Relaxed),
            });
        });
    }
    // `for_each_site` visits ids in increasing order, so `ids` is sorted.
    threads::for_each_cached(generation, |id, count, bytes| {
        if let Ok(index) = ids.binary_search(&id) {
            sites[index].count += count;
            sites[index].bytes += bytes;
        }
    });
    // A slot of this generation at which no event was counted is not a call site.
    sites.retain(|site| site.count != 0);
    let figures = threads::figures().wrapping_sub(baseline);
    CallSiteReport {
        sites,
        events: figures.events,
        unattributed_events: figures.zero_frames + figures.unplaced + figures.busy,
        zero_frame_events: figures.zero_frames,
        table_full_events: figures.unplaced,
        contended_events: figures.busy,
        frames_captured: figures.frames,
        table_slots,
        table_segments,
        frame_pointers_missing: crate::walk::frame_pointers_look_missing(),
        foreign_stack_seen: crate::walk::foreign_stack_seen(),
        stack_bounds_unavailable: crate::walk::stack_bounds_unavailable(),
    }
}
