//! Heap profiling with dhat's accounting (feature `dhat-compat`).
//!
//! # One event, as data
//!
//! `alloc` → the inner allocator → (null: nothing) → tier-1 counters → if a heap session
//! runs: walk the caller's frames and read the clock, *outside any lock* → take the session
//! lock → intern the frame list as a program point, add the block to the live table, apply
//! dhat's rules (see [`points`]) → release.
//!
//! `dealloc` → if a session runs: take the lock, remove the block from the live table (before
//! the memory goes back, so a concurrent allocation reusing the address cannot be confused
//! with it), apply the rules, release → the inner allocator.
//!
//! # Why a lock at all
//!
//! dhat's figures (`max_blocks` at the byte peak, per-point at-t-gmax, `Σ gb = max_bytes`)
//! are defined over one total order of events. A short lock gives that order exactly; what
//! made dhat slow was holding its lock across the DWARF unwind and the system allocator,
//! which this design never does. The lock guards integer updates and one or two table probes.
//!
//! While a thread holds the lock its own allocator events are suspended, so nothing here can
//! re-enter it, and the tables grow with memory from `System`, never from the allocator being
//! profiled.

mod clock;
mod live;
mod lock;
mod points;
mod sysvec;

use core::sync::atomic::{AtomicU8, Ordering};

use crate::thread_state::{self, Suspended};
use clock::{Origin, TickRate};
use live::LiveBlock;
use lock::SpinLock;
use points::{hash_frames, Accounting};
use sysvec::SysVec;

/// What a profiling session records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every live block: site, size and birth time (dhat's heap mode).
    Heap,
    /// Only `ad_hoc_event` calls (dhat's ad hoc mode).
    AdHoc,
}

/// dhat's global heap figures, with dhat's types.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HeapTotals {
    pub(crate) total_blocks: u64,
    pub(crate) total_bytes: u64,
    pub(crate) curr_blocks: usize,
    pub(crate) curr_bytes: usize,
    /// Live blocks at the moment `curr_bytes` last reached `max_bytes` (dhat's rule).
    pub(crate) max_blocks: usize,
    pub(crate) max_bytes: usize,
}

/// dhat's ad hoc figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AdHocTotals {
    pub(crate) total_events: u64,
    pub(crate) total_units: u64,
}

/// One program point: a distinct raw frame list and its figures. In ad hoc mode only
/// `total_bytes` (the units) and `total_blocks` (the events) are meaningful.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProgramPoint {
    /// Return addresses, innermost first, as captured (untrimmed, allocator frames skipped).
    pub(crate) frames: Vec<usize>,
    pub(crate) total_bytes: u64,
    pub(crate) total_blocks: u64,
    /// Sum of block lifetimes in whole microseconds (dhat's `tl`).
    pub(crate) lifetimes_us: u128,
    pub(crate) max_bytes: usize,
    pub(crate) max_blocks: usize,
    pub(crate) at_gmax_bytes: usize,
    pub(crate) at_gmax_blocks: usize,
    pub(crate) at_end_bytes: usize,
    pub(crate) at_end_blocks: usize,
}

/// Everything a writer needs to produce dhat's stderr summary and JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Profile {
    pub(crate) mode: Mode,
    pub(crate) heap: HeapTotals,
    pub(crate) ad_hoc: AdHocTotals,
    pub(crate) program_points: Vec<ProgramPoint>,
    /// Microseconds from start to the global peak (`tg`); `None` in ad hoc mode.
    pub(crate) t_gmax_us: Option<u128>,
    /// Microseconds from start to now (`te`).
    pub(crate) t_end_us: u128,
    /// Frames of the thread that started the session, captured at start (for dhat's
    /// bottom trimming: frames shared with the first event's stack are below `main`).
    pub(crate) start_frames: Vec<usize>,
    /// Frames of the first recorded event, if any.
    pub(crate) first_event_frames: Vec<usize>,
    /// The frame cap requested at start (`None`: capture as deep as the walker allows).
    pub(crate) max_frames: Option<usize>,
}

/// Which mode runs: 0 none, 1 heap, 2 ad hoc. Read with one `Relaxed` load on the hot path;
/// the session itself is only ever read under [`SESSION`]'s lock, which orders everything.
static RUNNING: AtomicU8 = AtomicU8::new(NOT_RUNNING);
const NOT_RUNNING: u8 = 0;
const HEAP: u8 = 1;
const AD_HOC: u8 = 2;

static SESSION: SpinLock<Option<Session>> = SpinLock::new(None);

struct Session {
    mode: Mode,
    accounting: Accounting,
    origin: Origin,
    max_frames: Option<usize>,
    depth: usize,
    start_frames: SysVec<usize>,
    first_event_frames: Option<SysVec<usize>>,
}

/// Frames buffer for one capture, on the stack.
type FrameBuffer = [usize; crate::walk::MAX_FRAMES];

/// Runs `f` on the running session under the lock, with this thread's events suspended.
fn with_session<R>(f: impl FnOnce(&mut Session) -> R) -> Option<R> {
    let _suspended = Suspended::new();
    let mut guard = SESSION.lock();
    guard.as_mut().map(f)
}

/// Whether heap events are being tracked: one `Relaxed` load.
#[inline(always)]
pub(crate) fn tracking_heap() -> bool {
    RUNNING.load(Ordering::Relaxed) == HEAP
}

/// How many frames the allocator should capture for the next heap event: everything the
/// walker can see until the first event is recorded (dhat's bottom trimming compares it with
/// the start stack), then the session's depth. Read without the lock; a stale value only
/// changes how many frames one event keeps.
#[inline(always)]
pub(crate) fn capture_depth() -> usize {
    DEPTH.load(Ordering::Relaxed) as usize
}

static DEPTH: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// Records a new block (from `alloc`, `alloc_zeroed`, or a realloc of an untracked block)
/// whose caller's frames the allocator captured.
#[inline(never)]
pub(crate) fn on_alloc(address: usize, size: usize, frames: &[usize]) {
    let hash_all = hash_frames(frames);
    let now = clock::now();
    let _ = with_session(|session| {
        if session.mode != Mode::Heap {
            return;
        }
        let kept = session.note_first_event(frames);
        let (frames, hash) = if kept.len() == frames.len() {
            (frames, hash_all)
        } else {
            (kept, hash_frames(kept))
        };
        let recorded = session.accounting.intern(frames, hash).and_then(|point| {
            session
                .accounting
                .alloc(address, size, point, session.since_start(now))
        });
        if recorded.is_err() {
            session.accounting.lost_events += 1;
        }
    });
}

/// Records a free. Call it *before* the memory goes back to the inner allocator.
#[inline(never)]
pub(crate) fn on_dealloc(address: usize, size: usize) {
    if !thread_state::recording() {
        return;
    }
    let now = clock::now();
    let _ = with_session(|session| {
        let now = session.since_start(now);
        session.accounting.dealloc(address, size, now)
    });
}

/// Takes a block out of the live table ahead of a realloc; hand the result to
/// [`after_realloc`] whatever the inner allocator returns. `None` for untracked blocks, which
/// the caller then records as new with [`on_alloc`] if the realloc succeeds.
#[inline(never)]
pub(crate) fn before_realloc(address: usize) -> Option<LiveBlock> {
    if !thread_state::recording() {
        return None;
    }
    with_session(|session| session.accounting.live.remove(address)).flatten()
}

/// Completes a realloc of a tracked block: `new_address` is 0 if the inner allocator failed,
/// in which case the block is put back unchanged.
#[inline(never)]
pub(crate) fn after_realloc(
    block: LiveBlock,
    old_address: usize,
    new_address: usize,
    old_size: usize,
    new_size: usize,
) {
    if new_address == 0 {
        let _ = with_session(|session| session.accounting.live.insert(old_address, block));
        return;
    }
    let now = clock::now();
    let _ = with_session(|session| {
        if session
            .accounting
            .realloc(
                block,
                new_address,
                old_size,
                new_size,
                session.since_start(now),
            )
            .is_err()
        {
            session.accounting.lost_events += 1;
        }
    });
}

impl Session {
    /// Clock ticks from the session's start to `ticks`: the accounting's time base.
    fn since_start(&self, ticks: u64) -> u64 {
        ticks.saturating_sub(self.origin.ticks)
    }

    /// Keeps the first event's full stack, and returns the part of `frames` to record (the
    /// first event arrives captured deeper than the session's depth).
    fn note_first_event<'f>(&mut self, frames: &'f [usize]) -> &'f [usize] {
        if self.first_event_frames.is_none() {
            let mut copy = SysVec::new();
            if copy.extend_from_slice(frames) {
                self.first_event_frames = Some(copy);
            }
            DEPTH.store(self.depth as u32, Ordering::Relaxed);
        }
        &frames[..frames.len().min(self.depth)]
    }

    fn profile(&self, end: Origin) -> Profile {
        let rate = TickRate::since(self.origin);
        let accounting = &self.accounting;
        let lifetimes = accounting.lifetimes_at(self.since_start(end.ticks));
        let program_points = (0..accounting.point_count() as u32)
            .map(|point| {
                let state = accounting.point(point);
                let (at_gmax_bytes, at_gmax_blocks) = accounting.at_gmax(point);
                ProgramPoint {
                    frames: accounting.frames_of(point).to_vec(),
                    total_bytes: state.total_bytes,
                    total_blocks: state.total_blocks,
                    lifetimes_us: rate.micros(lifetimes[point as usize]),
                    max_bytes: state.max_bytes,
                    max_blocks: state.max_blocks,
                    at_gmax_bytes,
                    at_gmax_blocks,
                    at_end_bytes: state.curr_bytes,
                    at_end_blocks: state.curr_blocks,
                }
            })
            .collect();
        let t_gmax_us = match self.mode {
            Mode::Heap => Some(accounting.t_gmax.map_or(0, |t| rate.micros(u128::from(t)))),
            Mode::AdHoc => None,
        };
        Profile {
            mode: self.mode,
            heap: accounting.heap,
            ad_hoc: accounting.ad_hoc,
            program_points,
            t_gmax_us,
            // Both times in the same clock, so `tg <= te` always holds.
            t_end_us: rate.micros(u128::from(end.ticks.saturating_sub(self.origin.ticks))),
            start_frames: self.start_frames.as_slice().to_vec(),
            first_event_frames: self
                .first_event_frames
                .as_ref()
                .map(|f| f.as_slice().to_vec())
                .unwrap_or_default(),
            max_frames: self.max_frames,
        }
    }
}

/// Before `fork()`: take the session lock, so no other thread is half-way through an update
/// that the child would inherit with the lock held and nobody to release it.
unsafe extern "C" fn before_fork() {
    // SAFETY: `after_fork` releases it in both processes; nothing touches the session between.
    unsafe { SESSION.lock_for_fork() };
}

/// After `fork()`, in the parent and in the child.
unsafe extern "C" fn after_fork() {
    // SAFETY: taken by `before_fork` in the thread that forked, which is the one running this.
    unsafe { SESSION.force_unlock() };
}

/// Registers the fork handlers once per process.
fn prepare_for_fork() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        if !crate::sys::register_fork_handlers(before_fork, after_fork) {
            eprintln!("mod-alloc: could not register fork handlers; a child forked during heap profiling may hang");
        }
    });
}

/// Starts a session. Returns `false` (and changes nothing) if one is already running.
/// Must be called from user code, never from inside the allocator.
#[inline(never)]
pub(crate) fn start(mode: Mode, max_frames: Option<usize>) -> bool {
    prepare_for_fork();
    let mut buffer: FrameBuffer = [0; crate::walk::MAX_FRAMES];
    let start_frames = capture_here(&mut buffer);
    // dhat caps the frames *above* the ones it trims below `main`, so capture the cap plus as
    // many frames as the starting stack has.
    let depth = max_frames.map_or(crate::walk::MAX_FRAMES, |n| {
        n.saturating_add(start_frames.len())
            .clamp(1, crate::walk::MAX_FRAMES)
    });
    let _suspended = Suspended::new();
    let mut stack = SysVec::new();
    let _ = stack.extend_from_slice(start_frames);
    let mut guard = SESSION.lock();
    if guard.is_some() {
        return false;
    }
    *guard = Some(Session {
        mode,
        accounting: Accounting::new(),
        origin: Origin::now(),
        max_frames,
        depth,
        start_frames: stack,
        first_event_frames: None,
    });
    DEPTH.store(crate::walk::MAX_FRAMES as u32, Ordering::Relaxed);
    RUNNING.store(
        if mode == Mode::Heap { HEAP } else { AD_HOC },
        Ordering::Relaxed,
    );
    true
}

/// Current heap figures of the running session (zeros if none).
pub(crate) fn heap_totals() -> HeapTotals {
    with_session(|session| session.accounting.heap).unwrap_or_default()
}

/// Current ad hoc figures of the running session (zeros if none).
pub(crate) fn ad_hoc_totals() -> AdHocTotals {
    with_session(|session| session.accounting.ad_hoc).unwrap_or_default()
}

/// Records an ad hoc event of `weight` units at the caller's stack, if an ad hoc session runs.
#[inline(never)]
pub(crate) fn ad_hoc_event(weight: usize) {
    if RUNNING.load(Ordering::Relaxed) != AD_HOC {
        return;
    }
    let mut buffer: FrameBuffer = [0; crate::walk::MAX_FRAMES];
    let frames = capture_here(&mut buffer);
    let _ = with_session(|session| {
        if session.mode != Mode::AdHoc {
            return;
        }
        let frames = session.note_first_event(frames);
        let hash = hash_frames(frames);
        match session.accounting.intern(frames, hash) {
            Ok(point) => session.accounting.ad_hoc(point, weight),
            Err(_) => session.accounting.lost_events += 1,
        }
    });
}

/// Captures the stack from the caller of the function that calls this one: used outside the
/// allocator (session start, ad hoc events). The two skipped return addresses lead into this
/// function and into that caller, both `#[inline(never)]`.
#[inline(never)]
fn capture_here(buffer: &mut FrameBuffer) -> &[usize] {
    let _suspended = Suspended::new();
    let len = crate::walk::capture_from_caller(buffer, 2);
    &buffer[..len]
}

/// The profile so far, without stopping.
pub(crate) fn snapshot() -> Option<Profile> {
    let end = Origin::now();
    with_session(|session| session.profile(end))
}

/// Stops the running session and returns its profile.
pub(crate) fn stop() -> Option<Profile> {
    let end = Origin::now();
    let _suspended = Suspended::new();
    let session = {
        let mut guard = SESSION.lock();
        RUNNING.store(NOT_RUNNING, Ordering::Relaxed);
        guard.take()
    }?;
    if session.accounting.lost_events > 0 {
        eprintln!(
            "mod-alloc: {} allocator events were not recorded: the heap profiler's tables could not grow",
            session.accounting.lost_events
        );
    }
    Some(session.profile(end))
}
