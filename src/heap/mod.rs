//! Heap profiling with dhat's accounting (feature `dhat-compat`).
//!
//! # One event, as data
//!
//! `alloc` → the inner allocator → (null: nothing) → tier-1 counters → if a heap session
//! runs: walk the caller's frames and read the clock → take *the calling thread's own* lock
//! (see [`thread`]) → find the program point in the thread's cache, add the block to the
//! thread's live table, add the event to the thread's batch (see [`batch`]) → release. Every
//! few hundred events, or sooner when the batch has touched 64 program points or moved more
//! than 64 KiB either way, the thread takes the session lock once and applies the batch.
//!
//! `dealloc` → if a session runs: take the thread's lock, remove the block from its table
//! (before the memory goes back, so a concurrent allocation reusing the address cannot be
//! confused with it), add the free to the batch, release → the inner allocator.
//!
//! Everything else goes through the session lock: a frame list the thread has not met yet
//! (interned in the session), the session's first event (dhat's bottom trimming keeps its
//! whole stack), a block some other thread allocated, a thread whose exit hook already ran,
//! and ad hoc events.
//!
//! # One order of events, without a shared lock per event
//!
//! dhat's figures (`max_blocks` at the byte peak, per-point at-t-gmax, `Σ gb = max_bytes`)
//! are defined over one sequence of events. Here that sequence is every thread's events in
//! its own program order, a batch at a time, in the order the batches reach the session.
//! A batch keeps enough to give exactly the figures its events would have given one by one
//! (`batch.rs` says how, and its tests check it), so a single-threaded program gets dhat's
//! numbers exactly, and every profile keeps the invariants (`Σ gb = max_bytes`, `gb <= mb`,
//! ...). Two rules keep the sequence a possible one:
//! - a free or realloc of a block allocated by *another* thread first applies that thread's
//!   batch, which may hold the block's allocation, and then the caller's own, so a block is
//!   never freed before it was allocated and no figure goes below zero;
//! - `HeapStats`, reports and the end of the session apply every thread's batch first.
//!
//! What differs from dhat with several threads: dhat orders events by its lock, i.e. by the
//! wall clock; here events of different threads are ordered a batch at a time, so the peak is
//! that of a sequence in which each thread's pending events (a batch is flushed at 512
//! events, at 64 program points, or once it moves more than 64 KiB either way) may sit a
//! little earlier or later than they happened. Each thread's hot path writes only its own
//! cache lines, which is what lets threads scale.
//!
//! The session lock and threads' locks are spin locks (see [`lock`]); a thread never waits
//! for the session lock while holding its own. While a thread holds the session lock its
//! allocator events are suspended, so nothing here can re-enter it, and every table grows
//! with memory from `System`, never from the allocator being profiled.

mod arena;
mod batch;
mod clock;
mod frozen;
mod live;
mod lock;
mod points;
mod sysvec;
mod thread;

use core::cell::Cell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};

use crate::diagnostics::eprint_line;
use crate::fork_lock::ForkHandlers;
use crate::thread_state::{self, Suspended};
use clock::Origin;
use frozen::Frozen;
use live::LiveBlock;
pub(crate) use lock::{SpinGuard, SpinLock};
use points::{hash_frames, Accounting};
use sysvec::SysVec;
use thread::{PointCache, SessionInfo, ThreadData, ThreadHeap};

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
    /// The bottoms of those two stacks, when they were deeper than a capture holds: their
    /// outermost frames, innermost first (see `walk::outermost_from_here`); empty when the
    /// stack above is whole.
    pub(crate) start_tail: Vec<usize>,
    pub(crate) first_event_tail: Vec<usize>,
    /// The frame cap requested at start (`None`: capture as deep as the walker allows).
    pub(crate) max_frames: Option<usize>,
    /// The allocator's own frames above every captured stack, as the walker's calibration
    /// saw them (`walk::allocator_path`); empty if unknown.
    pub(crate) allocator_path: Vec<usize>,
    /// [`allocator_path`](Self::allocator_path) for zeroed allocations
    /// (`walk::zeroed_allocator_path`); empty if unknown.
    pub(crate) zeroed_path: Vec<usize>,
    /// The frames dhat's allocator would put on top of each stack, as the session's start
    /// named them (see [`set_allocator_frames`]); `None` if it did not, and then the report
    /// names them from the two paths.
    pub(crate) allocator_frames: Option<AllocatorFrames>,
}

/// The frames dhat's allocator puts on top of each heap stack in this build, which ours lack,
/// and so count towards `trim_backtraces` in dhat's stacks only (see
/// `report::dhat::name_allocator_frames`). Named once per process: it depends only on how
/// the program was built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AllocatorFrames {
    /// Above a stack of ours: dhat's `GlobalAlloc` method and every frame between it and the
    /// allocating code.
    pub(crate) plain: usize,
    /// The first frame ours keep of a zeroed allocation that runs `GlobalAlloc`'s default
    /// `alloc_zeroed` (as `dhat_compat::Alloc` does, like dhat's `Alloc`): the default
    /// method's frames are dhat's and ours alike, so ours keep them (see
    /// `walk::zeroed_allocator_path`). 0 if there is no such frame.
    pub(crate) zeroed_entry: usize,
    /// How many fewer frames dhat's allocator puts on top of such a zeroed stack than on a
    /// plain one: the plain path's own frames (an unoptimised shim, `__rust_alloc`) that the
    /// zeroed path does not run. Those stacks keep that many more frames.
    pub(crate) zeroed_extra: usize,
}

impl AllocatorFrames {
    /// An ad hoc event's stack: no allocator frame on top.
    pub(crate) const NONE: AllocatorFrames = AllocatorFrames {
        plain: 0,
        zeroed_entry: 0,
        zeroed_extra: 0,
    };

    /// How many more frames than a plain stack's `frames` keeps (see
    /// [`zeroed_extra`](Self::zeroed_extra)).
    pub(crate) fn extra_for(&self, frames: &[usize]) -> usize {
        if self.zeroed_entry != 0 && frames.first() == Some(&self.zeroed_entry) {
            self.zeroed_extra
        } else {
            0
        }
    }
}

/// Which mode runs: 0 none, 1 heap, 2 ad hoc. Read with one `Relaxed` load on the hot path;
/// the session itself is only ever read under [`SHARED`]'s lock, which orders everything.
static RUNNING: AtomicU8 = AtomicU8::new(NOT_RUNNING);
const NOT_RUNNING: u8 = 0;
const HEAP: u8 = 1;
const AD_HOC: u8 = 2;

/// The running session's id (0: none), start in clock ticks, and capture depth: what a
/// thread needs to record on its own (see `thread.rs`). Written under the session lock, the id
/// last (`Release`) when a session starts and first when it stops.
static SESSION_ID: AtomicU64 = AtomicU64::new(0);
static SESSION_ORIGIN: AtomicU64 = AtomicU64::new(0);
static SESSION_DEPTH: AtomicUsize = AtomicUsize::new(0);

/// The id of the session whose first event has been recorded. Until then every event goes
/// through the session lock, which keeps that event's full stack (see `note_first_event`).
static FIRST_EVENT_SEEN: AtomicU64 = AtomicU64::new(0);

/// The session and the registry of threads' blocks, behind the session lock.
struct Shared {
    session: Option<Session>,
    /// Every live thread's [`ThreadHeap`].
    threads: SysVec<Registered>,
    /// The last session id handed out.
    last_id: u64,
}

/// A registered thread's block. Valid while it is in [`Shared::threads`]: only the exit hook
/// takes it out, under the session lock, before freeing it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Registered(NonNull<ThreadHeap>);

// SAFETY: the blocks are shared between threads by design, each behind its own lock.
unsafe impl Send for Registered {}

impl Registered {
    /// The block.
    ///
    /// # Safety
    ///
    /// The caller holds the session lock, or is the block's own thread before its exit hook.
    unsafe fn get<'a>(self) -> &'a ThreadHeap {
        // SAFETY: see above: registered blocks stay valid in both cases.
        unsafe { self.0.as_ref() }
    }
}

static SHARED: SpinLock<Shared> = SpinLock::new(Shared {
    session: None,
    threads: SysVec::new(),
    last_id: 0,
});

struct Session {
    id: u64,
    mode: Mode,
    accounting: Accounting,
    origin: Origin,
    max_frames: Option<usize>,
    /// How many leading frames identify a program point (see [`Session::settle_depth`]).
    depth: usize,
    /// The frames dhat's allocator would put on top of each heap stack (see
    /// [`set_allocator_frames`]); none in ad hoc mode; `None` until named.
    allocator_frames: Option<AllocatorFrames>,
    /// How many frames at the top of the stacks dhat skips: those the first event's stack
    /// shares with the start stack. `None` until the first event.
    top_frames: Option<usize>,
    start_frames: SysVec<usize>,
    first_event_frames: Option<SysVec<usize>>,
    start_tail: SysVec<usize>,
    first_event_tail: SysVec<usize>,
}

/// Frames buffer for one capture, on the stack.
type FrameBuffer = [usize; crate::walk::MAX_FRAMES];

/// Runs `f` under the session lock, with this thread's events suspended.
fn with_shared<R>(f: impl FnOnce(&mut Shared) -> R) -> R {
    let _suspended = Suspended::new();
    let mut guard = SHARED.lock();
    f(&mut guard)
}

/// Runs `f` on the running session under the lock, with this thread's events suspended.
fn with_session<R>(f: impl FnOnce(&mut Session) -> R) -> Option<R> {
    with_shared(|shared| shared.session.as_mut().map(f))
}

/// Whether heap events are being tracked: one `Relaxed` load.
#[inline(always)]
pub(crate) fn tracking_heap() -> bool {
    RUNNING.load(Ordering::Relaxed) == HEAP
}

/// How many frames the allocator should capture for the next heap event: everything the
/// walker can see until the first event is recorded (dhat's bottom trimming compares it with
/// the start stack), then the session's depth, with room for the frames a zeroed stack may
/// keep beyond it (see [`AllocatorFrames::zeroed_extra`]). Read without the lock; a stale
/// value only changes how many frames one event keeps.
#[inline(always)]
pub(crate) fn capture_depth() -> usize {
    DEPTH.load(Ordering::Relaxed) as usize
}

static DEPTH: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// Brings a thread's data up to the running session (see [`ThreadData::follow`]); whether one
/// runs. The common case, the same session as last time, is one load and one compare.
#[inline(always)]
fn in_session(data: &mut ThreadData) -> bool {
    let id = SESSION_ID.load(Ordering::Acquire);
    if id != 0 && id == data.session {
        return true;
    }
    data.follow(current_session())
}

/// The running session as a thread sees it without the lock; `None` if none runs.
fn current_session() -> Option<SessionInfo> {
    let id = SESSION_ID.load(Ordering::Acquire);
    if id == 0 {
        return None;
    }
    let info = SessionInfo {
        id,
        origin: SESSION_ORIGIN.load(Ordering::Relaxed),
        depth: SESSION_DEPTH.load(Ordering::Relaxed),
    };
    // A session that ended (or was replaced) while the fields were read: record nothing.
    (SESSION_ID.load(Ordering::Acquire) == id).then_some(info)
}

/// The calling thread's block, as far as it knows.
#[derive(Clone, Copy)]
enum ThreadBlock {
    /// No heap event yet.
    None,
    Registered(Registered),
    /// Its exit hook ran, or no block could be made: its events go through the session lock.
    Exited,
}

thread_local! {
    static THREAD_HEAP: Cell<ThreadBlock> = const { Cell::new(ThreadBlock::None) };
}

/// The calling thread's block, made and registered on its first heap event.
///
/// The block lives until the thread's exit hook frees it, not for `'static`: callers keep
/// the reference only for the allocator call that asked for it, which ends before the
/// thread can exit.
#[inline]
fn thread_heap() -> Option<&'static ThreadHeap> {
    match THREAD_HEAP.try_with(Cell::get).ok()? {
        ThreadBlock::None => register_thread(),
        // SAFETY: this is the block's own thread, and its exit hook has not run (it sets
        // `Exited` first); the reference is used only until this allocator call returns.
        ThreadBlock::Registered(block) => Some(unsafe { block.get() }),
        ThreadBlock::Exited => None,
    }
}

#[cold]
#[inline(never)]
fn register_thread() -> Option<&'static ThreadHeap> {
    let registered = thread::create().map(Registered).and_then(|block| {
        if with_shared(|shared| shared.threads.push(block)) {
            Some(block)
        } else {
            // SAFETY: never registered nor shared.
            unsafe { thread::destroy(block.0) };
            None
        }
    });
    let state = registered.map_or(ThreadBlock::Exited, ThreadBlock::Registered);
    let _ = THREAD_HEAP.try_with(|cell| cell.set(state));
    // SAFETY: just registered by this thread, whose exit hook has not run.
    registered.map(|block| unsafe { block.get() })
}

/// Thread-exit hook: hands the calling thread's blocks and pending events to the session,
/// unregisters its block and frees it. Later events of the thread go through the lock.
pub(crate) fn release_thread() {
    let Ok(ThreadBlock::Registered(block)) =
        THREAD_HEAP.try_with(|cell| cell.replace(ThreadBlock::Exited))
    else {
        return;
    };
    with_shared(|shared| {
        if let Some(position) = shared.threads.as_slice().iter().position(|&b| b == block) {
            shared.threads.swap_remove(position);
        }
        // SAFETY: registered blocks are valid until now, and only this hook destroys them.
        let heap = unsafe { block.get() };
        {
            let mut data = heap.lock();
            if let Some(session) = shared.session.as_mut() {
                if data.session == session.id {
                    session.flush(&mut data);
                    for (block_address, block) in data.live.entries() {
                        if !session.accounting.live.insert(block_address, block) {
                            session.accounting.lost_events += 1;
                        }
                    }
                }
            }
            data.forget();
        }
        // SAFETY: unregistered above under the session lock, so no other thread can reach
        // it; its own thread marked itself `Exited` and will not use it again.
        unsafe { thread::destroy(block.0) };
    });
}

/// Records a new block (from `alloc`, `alloc_zeroed`, or a realloc of an untracked block)
/// whose caller's frames the allocator captured.
#[inline(never)]
pub(crate) fn on_alloc(address: usize, size: usize, frames: &[usize]) {
    let now = clock::now();
    let heap = thread_heap();
    if let Some(heap) = heap {
        let mut data = heap.lock();
        if !in_session(&mut data) {
            return;
        }
        if FIRST_EVENT_SEEN.load(Ordering::Relaxed) == data.session {
            let frames = &frames[..key_len(data.depth, frames)];
            let key = PointCache::key(frames);
            if let Some(point) = data.points.find(frames, key) {
                let birth = now.saturating_sub(data.origin);
                if data.live.insert(address, LiveBlock { point, birth }) {
                    data.batch.alloc(point, size, birth);
                } else {
                    data.batch.lost_events += 1;
                }
                end_event(heap, data);
                return;
            }
        }
    }
    alloc_through_lock(heap, address, size, frames, now);
}

/// The rest of [`on_alloc`]: the session's first event, a frame list the thread has not met
/// (interned in the session), or a thread without a block.
///
/// Every thread's pending events are applied first. They all happened before this event, so
/// this places it after them, as the wall clock does. It matters for a thread's first event:
/// without it, the events another thread did before starting this one (or waking it) could
/// be applied after this thread's, and a peak they made together would be missed.
#[cold]
#[inline(never)]
fn alloc_through_lock(
    heap: Option<&ThreadHeap>,
    address: usize,
    size: usize,
    frames: &[usize],
    now: u64,
) {
    let mut tail: FrameBuffer = [0; crate::walk::MAX_FRAMES];
    let bottom = first_event_bottom(frames.len(), &mut tail);
    with_shared(|shared| {
        if shared.session.as_ref().map(|session| session.mode) != Some(Mode::Heap) {
            return;
        }
        shared.flush_all();
        let Some(session) = shared.session.as_mut() else {
            return;
        };
        let frames = session.note_first_event(frames, bottom);
        let Ok(point) = session.accounting.intern(frames, hash_frames(frames)) else {
            session.accounting.lost_events += 1;
            return;
        };
        let birth = session.since_start(now);
        let block = LiveBlock { point, birth };
        let mut guard = heap.map(SpinLock::lock);
        let Some(data) = guard
            .as_deref_mut()
            .filter(|data| data.session == session.id)
        else {
            // No block of its own (or one a stop has reset): the session's table keeps it.
            if session
                .accounting
                .alloc(address, size, point, birth)
                .is_err()
            {
                session.accounting.lost_events += 1;
            }
            return;
        };
        session.flush(data);
        // The depth shrinks once the session settles it; a thread that followed the session
        // before then takes the new one here, at its first lookup that missed because of it.
        data.depth = session.depth;
        if data.live.insert(address, block) {
            session.accounting.record_alloc(point, size, birth);
        } else {
            session.accounting.lost_events += 1;
        }
        let stored = session.accounting.frames_of(point);
        let key = PointCache::key(stored);
        data.points
            .insert(key, stored.as_ptr(), stored.len(), point);
    });
}

/// Releases the calling thread's lock after an event, then applies its batch to the session
/// if the batch asks for it (the session lock is never taken while holding the thread's).
#[inline(always)]
fn end_event(heap: &ThreadHeap, data: SpinGuard<'_, ThreadData>) {
    let full = data.batch.wants_flush();
    drop(data);
    if full {
        flush_thread(heap);
    }
}

/// Applies the calling thread's pending events to the session.
#[cold]
#[inline(never)]
fn flush_thread(heap: &ThreadHeap) {
    let _ = with_session(|session| session.flush(&mut heap.lock()));
}

/// Records a free. Call it *before* the memory goes back to the inner allocator.
#[inline(never)]
pub(crate) fn on_dealloc(address: usize, size: usize) {
    if !thread_state::heap_recording() {
        return;
    }
    let now = clock::now();
    let heap = thread_heap();
    if let Some(heap) = heap {
        let mut data = heap.lock();
        if !in_session(&mut data) {
            return;
        }
        if let Some(block) = data.live.remove(address) {
            let lifetime = now.saturating_sub(data.origin).saturating_sub(block.birth);
            data.batch.dealloc(block.point, size, lifetime);
            end_event(heap, data);
            return;
        }
    }
    with_shared(|shared| {
        if let Some(block) = shared.take_block(heap, address) {
            if let Some(session) = shared.session.as_mut() {
                let now = session.since_start(now);
                session.accounting.record_free(block, size, now);
            }
        }
    });
}

/// A tracked block taken out of its table ahead of a realloc.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tracked {
    block: LiveBlock,
    session: u64,
    /// Taken from the calling thread's own table, its events still pending in its batch.
    own: bool,
}

/// Takes a block out of the live tables ahead of a realloc; hand the result to
/// [`after_realloc`] whatever the inner allocator returns. `None` for untracked blocks, which
/// the caller then records as new with [`on_alloc`] if the realloc succeeds.
#[inline(never)]
pub(crate) fn before_realloc(address: usize) -> Option<Tracked> {
    if !thread_state::heap_recording() {
        return None;
    }
    let heap = thread_heap();
    if let Some(heap) = heap {
        let mut data = heap.lock();
        if !in_session(&mut data) {
            return None;
        }
        if let Some(block) = data.live.remove(address) {
            return Some(Tracked {
                block,
                session: data.session,
                own: true,
            });
        }
    }
    with_shared(|shared| {
        let block = shared.take_block(heap, address)?;
        Some(Tracked {
            block,
            session: shared.session.as_ref()?.id,
            own: false,
        })
    })
}

/// Completes a realloc of a tracked block: `new_address` is 0 if the inner allocator failed,
/// in which case the block is put back unchanged.
#[inline(never)]
pub(crate) fn after_realloc(
    tracked: Tracked,
    old_address: usize,
    new_address: usize,
    old_size: usize,
    new_size: usize,
) {
    let now = clock::now();
    // Looked up before any lock: a thread's first lookup registers its block, which takes the
    // session lock.
    let heap = thread_heap();
    if tracked.own {
        if let Some(heap) = heap {
            let mut data = heap.lock();
            if data.session != tracked.session || !in_session(&mut data) {
                return;
            }
            if new_address == 0 {
                if !data.live.insert(old_address, tracked.block) {
                    data.batch.dealloc(tracked.block.point, old_size, 0);
                    data.batch.lost_events += 1;
                }
                // Every event that adds to the batch ends here, which keeps room for the next.
                end_event(heap, data);
                return;
            }
            let birth = now.saturating_sub(data.origin);
            let point = tracked.block.point;
            if data.live.insert(new_address, LiveBlock { point, birth }) {
                data.batch.realloc(point, old_size, new_size, birth);
            } else {
                // As `Accounting::realloc`: the old block is gone and the new one untracked.
                data.batch.dealloc(point, old_size, 0);
                data.batch.lost_events += 1;
            }
            end_event(heap, data);
            return;
        }
    }
    let _ = with_session(|session| {
        if session.id != tracked.session {
            return;
        }
        if new_address == 0 {
            if !session.accounting.live.insert(old_address, tracked.block) {
                session
                    .accounting
                    .record_untrackable_realloc(tracked.block.point, old_size);
                session.accounting.lost_events += 1;
            }
            return;
        }
        if let Some(heap) = heap {
            session.flush(&mut heap.lock());
        }
        let now = session.since_start(now);
        if session
            .accounting
            .realloc(tracked.block, new_address, old_size, new_size, now)
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

    /// Applies a thread's pending events, if they belong to this session.
    fn flush(&mut self, data: &mut ThreadData) {
        if data.session == self.id {
            self.accounting.apply_batch(&data.batch);
        }
        data.batch.clear();
    }
}

impl Shared {
    /// Runs `f` on every registered thread's data, one at a time under its lock.
    fn for_each_thread(&self, mut f: impl FnMut(&mut ThreadData)) {
        for block in self.threads.as_slice() {
            // SAFETY: the session lock is held.
            f(&mut unsafe { block.get() }.lock());
        }
    }

    /// Applies every thread's pending events to the running session.
    fn flush_all(&mut self) {
        if let Some(session) = self.session.as_mut() {
            for block in self.threads.as_slice() {
                // SAFETY: the session lock is held.
                session.flush(&mut unsafe { block.get() }.lock());
            }
        }
    }

    /// Takes `address` out of whichever table holds it. When another thread's table has it,
    /// that thread's pending events (which may hold the block's allocation) are applied
    /// first; the calling thread's (`own`) always are, so everything it did before comes
    /// first too. `None` if no session runs or the block is untracked.
    fn take_block(&mut self, own: Option<&ThreadHeap>, address: usize) -> Option<LiveBlock> {
        let session = self.session.as_mut()?;
        let mut found = session.accounting.live.remove(address);
        if found.is_none() {
            for block in self.threads.as_slice() {
                // SAFETY: the session lock is held.
                let mut data = unsafe { block.get() }.lock();
                if data.session != session.id {
                    continue;
                }
                if let Some(block) = data.live.remove(address) {
                    session.flush(&mut data);
                    found = Some(block);
                    break;
                }
            }
        }
        if found.is_some() {
            if let Some(own) = own {
                session.flush(&mut own.lock());
            }
        }
        found
    }
}

impl Session {
    /// Keeps the first event's full stack, and `bottom`, the outermost frames of that stack
    /// when it is deeper than a capture ([`stack_tail`], walked before the lock was taken), and
    /// returns the part of `frames` to record (the first event arrives captured deeper than
    /// the session's depth).
    fn note_first_event<'f>(&mut self, frames: &'f [usize], bottom: &[usize]) -> &'f [usize] {
        if self.first_event_frames.is_none() {
            let mut copy = SysVec::new();
            if copy.extend_from_slice(frames) {
                self.first_event_frames = Some(copy);
            }
            // Under the session lock: both copies grow with memory from `System`.
            let _ = self.first_event_tail.extend_from_slice(bottom);
            self.top_frames = Some(shared_top_len(self.start_frames.as_slice(), frames));
            self.settle_depth();
            DEPTH.store(walk_depth(self.depth), Ordering::Relaxed);
            FIRST_EVENT_SEEN.store(self.id, Ordering::Relaxed);
        }
        &frames[..key_len(self.depth, frames)]
    }

    /// Sets the depth to the frames that make a program point's identity in dhat, once what
    /// that takes is known.
    ///
    /// dhat keys a point by the frames its walk keeps: it skips the top frames, then keeps
    /// up to the cap, its own allocator frames included. Two stacks that differ only below
    /// those are one point, whose peak is the most the two held together. Until both the top
    /// frames (known at the first event) and the allocator frames (named by the profiler's
    /// start) are known, the depth is the cap plus the start stack's length, which is never
    /// shallower than dhat's key: it can split one of dhat's points in two, which the report
    /// merges back, but never join two.
    fn settle_depth(&mut self) {
        let (Some(cap), Some(allocator), Some(top)) =
            (self.max_frames, self.allocator_frames, self.top_frames)
        else {
            return;
        };
        self.depth = top
            .saturating_add(cap.saturating_sub(allocator.plain))
            .clamp(1, crate::walk::MAX_FRAMES);
        SESSION_DEPTH.store(self.depth, Ordering::Relaxed);
        if FIRST_EVENT_SEEN.load(Ordering::Relaxed) == self.id {
            DEPTH.store(walk_depth(self.depth), Ordering::Relaxed);
        }
    }
}

/// How many frames the first event's stack shares at its top with the start stack: the
/// frames dhat skips at the top of every stack. 0 if either stack is shared whole, as dhat
/// then gives that trimming up.
pub(crate) fn shared_top_len(start: &[usize], first: &[usize]) -> usize {
    let len = crate::walk::shared_prefix_len(start, first);
    if len == start.len() || len == first.len() {
        0
    } else {
        len
    }
}

/// This process's [`AllocatorFrames`]: `plain` is [`UNNAMED`] until named, then published
/// with `Release` after the other two.
static ALLOCATOR_FRAMES: AtomicUsize = AtomicUsize::new(UNNAMED);
static ZEROED_ENTRY: AtomicUsize = AtomicUsize::new(0);
static ZEROED_EXTRA: AtomicUsize = AtomicUsize::new(0);
const UNNAMED: usize = usize::MAX;

/// This process's [`AllocatorFrames`], if [`set_allocator_frames`] has run.
pub(crate) fn named_allocator_frames() -> Option<AllocatorFrames> {
    let plain = ALLOCATOR_FRAMES.load(Ordering::Acquire);
    (plain != UNNAMED).then(|| AllocatorFrames {
        plain,
        zeroed_entry: ZEROED_ENTRY.load(Ordering::Relaxed),
        zeroed_extra: ZEROED_EXTRA.load(Ordering::Relaxed),
    })
}

/// Records the frames dhat's allocator would put on top of each heap stack, for the running
/// heap session and every later one, which settles how many frames identify their program
/// points. Called after the first heap session's start, in user code and with no lock of the
/// crate held: naming the frames reads the program's symbols.
pub(crate) fn set_allocator_frames(frames: AllocatorFrames) {
    ZEROED_ENTRY.store(frames.zeroed_entry, Ordering::Relaxed);
    ZEROED_EXTRA.store(frames.zeroed_extra, Ordering::Relaxed);
    ALLOCATOR_FRAMES.store(frames.plain, Ordering::Release);
    let _ = with_session(|session| {
        if session.allocator_frames.is_some() {
            return;
        }
        // Threads that recorded meanwhile cached their stacks at the provisional depth. From
        // now on their walks stop at the settled one, so their lookups miss those entries
        // and take the settled depth at the first miss (see `alloc_through_lock`).
        session.allocator_frames = Some(frames);
        session.settle_depth();
    });
}

/// How many of `frames`' leading frames identify its program point, `depth` being a plain
/// stack's: a zeroed stack through `GlobalAlloc`'s default `alloc_zeroed` keeps more (see
/// [`AllocatorFrames::zeroed_extra`]). One load when there are no such frames, as in
/// optimised builds.
#[inline(always)]
fn key_len(depth: usize, frames: &[usize]) -> usize {
    let extra = ZEROED_EXTRA.load(Ordering::Relaxed);
    let depth = if extra != 0 && frames.first() == Some(&ZEROED_ENTRY.load(Ordering::Relaxed)) {
        depth.saturating_add(extra)
    } else {
        depth
    };
    frames.len().min(depth)
}

/// How deep the allocator walks for a session whose plain stacks keep `depth` frames: deep
/// enough for [`key_len`].
fn walk_depth(depth: usize) -> u32 {
    let deepest = depth.saturating_add(ZEROED_EXTRA.load(Ordering::Relaxed));
    deepest.min(crate::walk::MAX_FRAMES) as u32
}

/// Before `fork()`: take the session lock and every thread's, so no other thread is half-way
/// through an update that the child would inherit with a lock held and nobody to release it.
///
/// The forking thread's events are suspended until `after_fork`: fork handlers registered
/// before ours run after this one (and before `after_fork`), and one that allocates must not
/// wait for a lock its own thread holds.
unsafe extern "C" fn before_fork() {
    core::mem::forget(Suspended::new());
    // SAFETY: `after_fork` releases them all in both processes; nothing touches the data
    // between: the thread holding them records nothing until then. The order (session lock
    // first) is the one every other path uses.
    unsafe {
        SHARED.lock_for_fork();
        for block in (*SpinLock::value_ptr(core::ptr::addr_of!(SHARED).cast_mut()))
            .threads
            .as_slice()
        {
            block.get().lock_for_fork();
        }
    }
}

/// After `fork()`, in the parent and in the child.
unsafe extern "C" fn after_fork() {
    // SAFETY: all taken by `before_fork` in the thread that forked, which is the one running
    // this; the registry cannot change while the session lock is held.
    unsafe {
        for block in (*SpinLock::value_ptr(core::ptr::addr_of!(SHARED).cast_mut()))
            .threads
            .as_slice()
        {
            block.get().force_unlock();
        }
        SHARED.force_unlock();
    }
    Suspended::end_forgotten();
}

/// The session's and the threads' locks' fork handlers, for
/// [`crate::fork_lock::register_all`].
pub(crate) fn fork_handlers() -> ForkHandlers {
    ForkHandlers {
        before: before_fork,
        after: after_fork,
    }
}

/// Starts a session. Returns `false` (and changes nothing) if one is already running.
/// Must be called from user code, never from inside the allocator.
#[inline(never)]
pub(crate) fn start(mode: Mode, max_frames: Option<usize>) -> bool {
    crate::fork_lock::register_all();
    clock::set_up_birth_units();
    let mut buffer: FrameBuffer = [0; crate::walk::MAX_FRAMES];
    let start_frames = capture_here(&mut buffer);
    // Until the session settles its depth (see `Session::settle_depth`): the cap plus as many
    // frames as the start stack has, enough for any top frames dhat would skip.
    let depth = max_frames.map_or(crate::walk::MAX_FRAMES, |n| {
        n.saturating_add(start_frames.len())
            .clamp(1, crate::walk::MAX_FRAMES)
    });
    let mut stack = SysVec::new();
    let _ = stack.extend_from_slice(start_frames);
    let mut start_tail = SysVec::new();
    let mut tail: FrameBuffer = [0; crate::walk::MAX_FRAMES];
    let _ = start_tail.extend_from_slice(stack_tail(start_frames.len(), &mut tail));
    let started = with_shared(|shared| {
        if shared.session.is_some() {
            return false;
        }
        shared.last_id += 1;
        let session = Session {
            id: shared.last_id,
            mode,
            accounting: Accounting::new(),
            origin: Origin::now(),
            max_frames,
            depth,
            allocator_frames: match mode {
                Mode::AdHoc => Some(AllocatorFrames::NONE),
                Mode::Heap => named_allocator_frames(),
            },
            top_frames: None,
            start_frames: stack,
            first_event_frames: None,
            start_tail,
            first_event_tail: SysVec::new(),
        };
        SESSION_ORIGIN.store(session.origin.ticks, Ordering::Relaxed);
        SESSION_DEPTH.store(depth, Ordering::Relaxed);
        SESSION_ID.store(session.id, Ordering::Release);
        shared.session = Some(session);
        DEPTH.store(crate::walk::MAX_FRAMES as u32, Ordering::Relaxed);
        RUNNING.store(
            if mode == Mode::Heap { HEAP } else { AD_HOC },
            Ordering::Relaxed,
        );
        true
    });
    if started && mode == Mode::Heap {
        // Capture is on now, so the probes' allocations reach the walker; the calling
        // thread's events are suspended while they run, so the session sees none of them.
        // Ad hoc mode captures no allocations: its probes would reach no walk, learn
        // nothing, and use up one of the process's calibration attempts.
        crate::walk::calibrate_from_user_code();
    }
    started
}

/// Current heap figures of the running session (zeros if none).
pub(crate) fn heap_totals() -> HeapTotals {
    with_shared(|shared| {
        shared.flush_all();
        shared.session.as_ref().map(|s| s.accounting.heap)
    })
    .unwrap_or_default()
}

/// Current ad hoc figures of the running session (zeros if none).
pub(crate) fn ad_hoc_totals() -> AdHocTotals {
    with_session(|session| session.accounting.ad_hoc).unwrap_or_default()
}

/// Records an ad hoc event of `weight` units at the caller's stack, if an ad hoc session runs.
/// The stack starts at the return address into the caller, which therefore must call this
/// in a way that leaves its own frame in place (not as a tail call).
#[inline(never)]
pub(crate) fn ad_hoc_event(weight: usize) {
    if RUNNING.load(Ordering::Relaxed) != AD_HOC {
        return;
    }
    let mut buffer: FrameBuffer = [0; crate::walk::MAX_FRAMES];
    let frames = capture_here(&mut buffer);
    let mut tail: FrameBuffer = [0; crate::walk::MAX_FRAMES];
    let bottom = first_event_bottom(frames.len(), &mut tail);
    let _ = with_session(|session| {
        if session.mode != Mode::AdHoc {
            return;
        }
        let frames = session.note_first_event(frames, bottom);
        let hash = hash_frames(frames);
        match session.accounting.intern(frames, hash) {
            Ok(point) => session.accounting.ad_hoc(point, weight),
            Err(_) => session.accounting.lost_events += 1,
        }
    });
}

/// [`stack_tail`] for an event that may be its session's first (which keeps it; see
/// [`Session::note_first_event`]), else nothing. Called before the session lock is taken, so
/// no walk runs under it; every event after the first skips the walk with one compare. Two
/// threads racing to be first may both walk: the session keeps one of the two.
fn first_event_bottom(captured: usize, tail: &mut FrameBuffer) -> &[usize] {
    if FIRST_EVENT_SEEN.load(Ordering::Relaxed) == SESSION_ID.load(Ordering::Acquire) {
        return &[];
    }
    stack_tail(captured, tail)
}

/// The bottom of the calling thread's stack, for a stack of which a capture kept `captured`
/// frames: empty if that capture had room to spare (it holds the whole stack), else the
/// outermost frames (see [`Profile::start_tail`]), also empty if those turn out whole.
/// Allocation-free, for use inside the allocator.
///
/// A stack of exactly as many frames as the capture holds counts as deeper: its tail is
/// then compared as a part of a stack, so in the rare case that it is all runtime frames
/// the trim below them stands where dhat, seeing the whole stack, would give it up.
fn stack_tail(captured: usize, tail: &mut FrameBuffer) -> &[usize] {
    if captured < tail.len() {
        return &[];
    }
    match crate::walk::outermost_from_here(tail) {
        (kept, false) => &tail[..kept],
        (_, true) => &[],
    }
}

/// The stack from the caller of the function that calls this one (`start` or
/// `ad_hoc_event`, both `#[inline(never)]`), innermost first: used outside the allocator.
///
/// Never inlined: the walk skips exactly two return addresses, the ones into this function
/// and into its caller, so both must be frames of their own.
#[inline(never)]
fn capture_here(buffer: &mut FrameBuffer) -> &[usize] {
    let _suspended = Suspended::new();
    let len = crate::walk::capture_from_caller(buffer, 2);
    &buffer[..len]
}

impl Shared {
    /// Each point's lifetime ticks, with the blocks still live in any table aged to `end`.
    ///
    /// Made under the session lock, so in memory from `System` (see `frozen.rs`); empty if
    /// that ran out, or if no session runs.
    fn lifetimes(&self, end: Origin) -> SysVec<u128> {
        let Some(session) = self.session.as_ref() else {
            return SysVec::new();
        };
        let now = session.since_start(end.ticks);
        let Some(mut lifetimes) = session.accounting.lifetimes_at(now) else {
            return SysVec::new();
        };
        let lifetimes_of = lifetimes.as_mut_slice();
        self.for_each_thread(|data| {
            if data.session == session.id {
                for block in data.live.blocks() {
                    lifetimes_of[block.point as usize] +=
                        u128::from(now.saturating_sub(block.birth));
                }
            }
        });
        lifetimes
    }
}

/// The profile so far, without stopping.
pub(crate) fn snapshot() -> Option<Profile> {
    let end = Origin::now();
    let frozen = with_shared(|shared| {
        shared.flush_all();
        let lifetimes = shared.lifetimes(end);
        Frozen::copy(shared.session.as_ref()?, end, lifetimes.as_slice())
    });
    Some(frozen?.into_profile())
}

/// Stops the running session and returns its profile.
pub(crate) fn stop() -> Option<Profile> {
    // First, so that everything made below is freed while still suspended.
    let _suspended = Suspended::new();
    let end = Origin::now();
    // Everything the lock guards is moved out under it, and the profile is built after.
    let (session, lifetimes) = with_shared(|shared| {
        SESSION_ID.store(0, Ordering::Release);
        RUNNING.store(NOT_RUNNING, Ordering::Relaxed);
        shared.flush_all();
        let lifetimes = shared.lifetimes(end);
        // Threads' tables belong to the session that ends: free them now rather than at each
        // thread's next event.
        shared.for_each_thread(ThreadData::forget);
        (shared.session.take(), lifetimes)
    });
    let session = session?;
    if session.accounting.lost_events > 0 {
        eprint_line(format_args!(
            "mod-alloc: {} allocator events were not recorded: the heap profiler's tables could not grow",
            session.accounting.lost_events
        ));
    }
    let frozen = Frozen::copy(&session, end, lifetimes.as_slice());
    if frozen.is_none() {
        eprint_line(format_args!(
            "mod-alloc: the heap profile was lost: no memory to copy it out of the profiler"
        ));
    }
    Some(frozen?.into_profile())
}
