//! Per-thread call-site counters, so a hot site costs no shared read-modify-write.
//!
//! If every event added to its site's counters with `fetch_add`, threads allocating at the
//! same site would fight over one cache line. Instead each thread owns a [`ThreadSites`]
//! block: a small direct-mapped cache of `(site, count, bytes)` entries plus the thread's
//! figures for events that found no site. Only the owner writes a block, with plain
//! load-and-store pairs on atomics (no locked instruction); report code reads every block.
//!
//! - An event whose site is in its entry adds to the entry. One whose entry holds another
//!   site first flushes that entry into the other site's shared counters in the table
//!   (two relaxed `fetch_add`s), then takes the entry over.
//! - An entry is tagged with the capture generation and site id. A report adds the entries of
//!   its generation to the sites' shared counters; stale entries are ignored and never
//!   flushed.
//! - Per-site totals are therefore exact whenever the allocating threads are quiet. While they
//!   run, a report can miss or double an entry that is being flushed at that instant.
//!
//! Blocks come from [`System`], are linked into a grow-only list and are never freed. A
//! block whose thread has exited (see [`release_current`]) is adopted, with its figures, by
//! the next thread that needs one: figures are sums, so it does not matter which thread added
//! what. Until the thread-exit hook calls it, each thread that ever recorded a site keeps its
//! block (about 1.6 KiB) for the life of the process.

use core::cell::Cell;
use core::ptr;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64};
use std::alloc::{GlobalAlloc, Layout, System};

use super::table::{Slot, Table};
use super::SiteId;

/// Entries in each thread's site cache (a power of two).
const ENTRIES: usize = 64;

/// One cached site: tag = generation << 32 | site id (0 = no site).
#[derive(Default)]
struct Entry {
    tag: AtomicU64,
    count: AtomicU64,
    bytes: AtomicU64,
}

/// Figures of events that reached no site, and of frames captured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct EventFigures {
    /// All events recorded while capture was on.
    pub(crate) events: u64,
    /// Frames captured, summed over those events.
    pub(crate) frames: u64,
    /// Events whose walk captured no frame.
    pub(crate) zero_frames: u64,
    /// Events whose frame list found no room in the table.
    pub(crate) unplaced: u64,
    /// Events that gave up waiting for another thread's claim of their slot.
    pub(crate) busy: u64,
}

impl EventFigures {
    pub(crate) fn wrapping_add(self, other: EventFigures) -> EventFigures {
        EventFigures {
            events: self.events.wrapping_add(other.events),
            frames: self.frames.wrapping_add(other.frames),
            zero_frames: self.zero_frames.wrapping_add(other.zero_frames),
            unplaced: self.unplaced.wrapping_add(other.unplaced),
            busy: self.busy.wrapping_add(other.busy),
        }
    }

    pub(crate) fn wrapping_sub(self, other: EventFigures) -> EventFigures {
        EventFigures {
            events: self.events.wrapping_sub(other.events),
            frames: self.frames.wrapping_sub(other.frames),
            zero_frames: self.zero_frames.wrapping_sub(other.zero_frames),
            unplaced: self.unplaced.wrapping_sub(other.unplaced),
            busy: self.busy.wrapping_sub(other.busy),
        }
    }
}

/// The atomic form of [`EventFigures`].
#[derive(Default)]
struct Figures {
    events: AtomicU64,
    frames: AtomicU64,
    zero_frames: AtomicU64,
    unplaced: AtomicU64,
    busy: AtomicU64,
}

impl Figures {
    fn load(&self) -> EventFigures {
        EventFigures {
            events: self.events.load(Relaxed),
            frames: self.frames.load(Relaxed),
            zero_frames: self.zero_frames.load(Relaxed),
            unplaced: self.unplaced.load(Relaxed),
            busy: self.busy.load(Relaxed),
        }
    }
}

/// Adds `n` to a counter only the calling thread writes.
#[inline(always)]
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

/// One thread's site cache and figures.
pub(crate) struct ThreadSites {
    entries: [Entry; ENTRIES],
    figures: Figures,
    in_use: AtomicBool,
    /// Set once before the block is published, never changed.
    next: AtomicPtr<ThreadSites>,
}

/// Head of the grow-only block list.
static HEAD: AtomicPtr<ThreadSites> = AtomicPtr::new(ptr::null_mut());

/// Events that arrived when the thread's block could not be reached (thread-local storage
/// gone, or no memory for a block). Any thread may add, so these use `fetch_add`.
static ORPHAN_EVENTS: AtomicU64 = AtomicU64::new(0);

/// Builds the tag of a site in a generation.
#[inline(always)]
pub(crate) fn tag(generation: u32, id: SiteId) -> u64 {
    (u64::from(generation) << 32) | u64::from(id.0)
}

impl ThreadSites {
    /// Counts one event of `bytes` at site `id` (in `table`, generation `generation`).
    #[inline]
    pub(crate) fn record_site(
        &self,
        table: &Table,
        generation: u32,
        id: SiteId,
        frames: usize,
        bytes: u64,
    ) {
        bump(&self.figures.events, 1);
        bump(&self.figures.frames, frames as u64);
        let entry = &self.entries[id.0 as usize & (ENTRIES - 1)];
        let wanted = tag(generation, id);
        if entry.tag.load(Relaxed) == wanted {
            bump(&entry.count, 1);
            bump(&entry.bytes, bytes);
        } else {
            self.take_over(entry, table, generation, wanted, bytes);
        }
    }

    /// Flushes `entry` to its site's shared counters (if it is of this generation) and
    /// reuses it for `wanted`.
    #[inline(never)]
    fn take_over(&self, entry: &Entry, table: &Table, generation: u32, wanted: u64, bytes: u64) {
        let old = entry.tag.load(Relaxed);
        if old != 0 && (old >> 32) as u32 == generation {
            if let Some(old_slot) = table.slot(SiteId(old as u32)) {
                old_slot.count.fetch_add(entry.count.load(Relaxed), Relaxed);
                old_slot.bytes.fetch_add(entry.bytes.load(Relaxed), Relaxed);
            }
        }
        entry.count.store(0, Relaxed);
        entry.bytes.store(0, Relaxed);
        entry.tag.store(wanted, Relaxed);
        bump(&entry.count, 1);
        bump(&entry.bytes, bytes);
    }

    /// Counts an event whose walk captured `frames` frames and reached no site.
    #[inline]
    pub(crate) fn record_unattributed(&self, frames: usize, reason: Unattributed) {
        bump(&self.figures.events, 1);
        bump(&self.figures.frames, frames as u64);
        match reason {
            Unattributed::NoFrames => bump(&self.figures.zero_frames, 1),
            Unattributed::Unplaced => bump(&self.figures.unplaced, 1),
            Unattributed::Busy => bump(&self.figures.busy, 1),
        }
    }
}

/// Why an event has no site.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Unattributed {
    NoFrames,
    Unplaced,
    Busy,
}

/// Counts an event that could not reach any thread's block.
#[cold]
pub(crate) fn record_orphan() {
    ORPHAN_EVENTS.fetch_add(1, Relaxed);
}

fn blocks() -> impl Iterator<Item = &'static ThreadSites> {
    // Acquire: pairs with the Release CAS that published each block, so it is initialised.
    let mut cursor = HEAD.load(Acquire);
    core::iter::from_fn(move || {
        // SAFETY: blocks are initialised before publication and never freed.
        let block: &'static ThreadSites = unsafe { cursor.as_ref() }?;
        cursor = block.next.load(Acquire);
        Some(block)
    })
}

/// Sum of every block's figures, plus orphans (counted as events that captured no frame:
/// they could not even be walked).
pub(crate) fn figures() -> EventFigures {
    let orphans = ORPHAN_EVENTS.load(Relaxed);
    let orphan = EventFigures {
        events: orphans,
        zero_frames: orphans,
        ..EventFigures::default()
    };
    blocks().fold(orphan, |sum, block| sum.wrapping_add(block.figures.load()))
}

/// Calls `f(site, count, bytes)` for every cached entry of `generation`.
pub(crate) fn for_each_cached(generation: u32, mut f: impl FnMut(SiteId, u64, u64)) {
    for block in blocks() {
        for entry in &block.entries {
            let tag = entry.tag.load(Relaxed);
            if tag != 0 && (tag >> 32) as u32 == generation {
                f(
                    SiteId(tag as u32),
                    entry.count.load(Relaxed),
                    entry.bytes.load(Relaxed),
                );
            }
        }
    }
}

/// A free block adopted, or a new one published. `None` only if memory ran out.
fn acquire() -> Option<&'static ThreadSites> {
    for block in blocks() {
        // Acquire on success: pairs with the Release store in `release`, so the previous
        // owner's last writes happen-before our first, keeping one writer at a time.
        if !block.in_use.load(Relaxed)
            && block
                .in_use
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_ok()
        {
            return Some(block);
        }
    }
    let layout = Layout::new::<ThreadSites>();
    // SAFETY: a non-zero-sized layout. All-zero bytes are a valid `ThreadSites`: zero atomics,
    // a false flag and a null pointer.
    let block = unsafe { System.alloc_zeroed(layout) }.cast::<ThreadSites>();
    if block.is_null() {
        return None;
    }
    // SAFETY: freshly allocated and zeroed; not yet shared.
    let new = unsafe { &*block };
    new.in_use.store(true, Relaxed);
    let mut head = HEAD.load(Relaxed);
    loop {
        new.next.store(head, Relaxed);
        // Release on success: publishes the initialised block to the Acquire loads in
        // `blocks`. Relaxed on failure: we only retry with the new head.
        match HEAD.compare_exchange_weak(head, block, Release, Relaxed) {
            Ok(_) => return Some(new),
            Err(actual) => head = actual,
        }
    }
}

fn release(block: &ThreadSites) {
    // Release: our writes to the block happen-before the next owner's Acquire adoption.
    block.in_use.store(false, Release);
}

/// The calling thread's call-site state.
pub(crate) struct Local {
    block: Cell<*const ThreadSites>,
    /// Synthetic frames replacing the walk, for tests (see `super::with_synthetic_frames`).
    pub(crate) synthetic: Cell<(*const usize, usize)>,
    /// The last site this thread recorded: its slot, id and generation. An event whose
    /// frames equal that slot's (compared in full) skips hashing and probing.
    pub(crate) last_site: Cell<(*const Slot, SiteId, u32)>,
}

/// A non-null, never-dereferenced marker for "this thread has released its block".
const RELEASED: *const ThreadSites = 1 as *const ThreadSites;

thread_local! {
    // Const-initialised with no destructor: safe to reach from inside the allocator.
    pub(crate) static LOCAL: Local = const {
        Local {
            block: Cell::new(ptr::null()),
            synthetic: Cell::new((ptr::null(), 0)),
            last_site: Cell::new((ptr::null(), SiteId(0), 0)),
        }
    };
}

impl Local {
    /// This thread's block, acquired on first use. `None` after release or without memory.
    #[inline(always)]
    pub(crate) fn block(&self) -> Option<&'static ThreadSites> {
        let block = self.block.get();
        if block.is_null() {
            return self.acquire_block();
        }
        if block == RELEASED {
            return None;
        }
        // SAFETY: a non-marker pointer was stored from a `&'static ThreadSites`.
        Some(unsafe { &*block })
    }

    #[cold]
    #[inline(never)]
    fn acquire_block(&self) -> Option<&'static ThreadSites> {
        let block = acquire()?;
        self.block.set(block);
        Some(block)
    }
}

/// Hands the calling thread's block to later threads. For the thread-exit hook; events the
/// thread makes afterwards are counted as orphans.
#[allow(dead_code)] // wired in by the thread-exit hook in `thread_state`
pub(crate) fn release_current() {
    let _ = LOCAL.try_with(|local| {
        let block = local.block.get();
        if !block.is_null() && block != RELEASED {
            local.block.set(RELEASED);
            // SAFETY: stored from a `&'static ThreadSites`.
            release(unsafe { &*block });
        }
    });
}
