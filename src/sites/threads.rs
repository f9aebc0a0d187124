//! Per-thread call-site counters, so a hot site costs no shared read-modify-write.
//!
//! If every event added to its site's counters with `fetch_add`, threads allocating at the
//! same site would fight over one cache line. Instead each thread owns a [`ThreadSites`]
//! block: a cache of `(site, count, bytes)` entries plus the thread's figures for events that
//! found no site. Only the owner writes a block, with plain load-and-store pairs on atomics
//! (no locked instruction); report code reads every block.
//!
//! The cache is also how an event finds its site. It is keyed by the event's frame list:
//! [`cache_key`] mixes the two innermost frames and the length, and a list may sit in either
//! of two entries the key picks (two-choice hashing, so a few hundred sites rotating through
//! one thread rarely evict each other). Each entry remembers its site's slot in the shared
//! table, and a hit compares the event's frames with that slot's in full, so a key collision
//! can cost a table lookup but never misattribute an event. Only a miss hashes the frames
//! and probes the shared table.
//!
//! - An event whose site is in one of its entries adds to that entry. On a miss the event
//!   takes over one of its two entries (a stale one if there is one, else the one with the
//!   smaller count), first flushing the entry into its old site's shared counters in the
//!   table (two relaxed `fetch_add`s).
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
//! block (32 KiB of zeroed memory, of which only the entries it uses are touched) for the
//! life of the process.

use core::cell::Cell;
use core::ptr;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64};
use std::alloc::{GlobalAlloc, Layout, System};

use super::table::Slot;
use super::SiteId;

/// Entries in each thread's site cache (a power of two): twice the 512 sites a thread can
/// rotate through without the table being probed at all.
const ENTRIES: usize = 1024;

/// One cached site: tag = generation << 32 | site id (0 = no site).
#[derive(Default)]
struct Entry {
    tag: AtomicU64,
    count: AtomicU64,
    bytes: AtomicU64,
    /// The site's slot in the table, whose frames a lookup compares (null: none yet).
    slot: AtomicPtr<Slot>,
}

/// Where a frame list may sit in the cache: two entry indices from one multiply. The two
/// innermost frames tell most sites apart; a collision only costs a table lookup.
#[inline(always)]
fn cache_key(frames: &[usize]) -> [usize; 2] {
    let first = frames.first().copied().unwrap_or(0) as u64;
    let second = frames.get(1).copied().unwrap_or(0) as u64;
    let mixed =
        (first ^ second.rotate_left(23) ^ frames.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mask = ENTRIES as u64 - 1;
    [
        ((mixed >> 54) & mask) as usize,
        ((mixed >> 40) & mask) as usize,
    ]
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
    /// Counts one event of `bytes` whose walk captured `frames`, if this thread's cache holds
    /// their site in `generation`; `false` (nothing counted) if it does not.
    #[inline(always)]
    pub(crate) fn record_cached(&self, generation: u32, frames: &[usize], bytes: u64) -> bool {
        for index in cache_key(frames) {
            let entry = &self.entries[index];
            if (entry.tag.load(Relaxed) >> 32) as u32 != generation {
                continue;
            }
            let slot = entry.slot.load(Relaxed);
            // SAFETY: a non-null entry slot points into the table, which is never freed.
            if !slot.is_null() && unsafe { &*slot }.is_site_of(generation, frames) {
                bump(&self.figures.events, 1);
                bump(&self.figures.frames, frames.len() as u64);
                bump(&entry.count, 1);
                bump(&entry.bytes, bytes);
                return true;
            }
        }
        false
    }

    /// Counts one event of `bytes` at site `id`, whose slot `slot` holds `frames` (in `table`,
    /// generation `generation`), after [`ThreadSites::record_cached`] missed: the site takes
    /// over one of its two entries.
    #[inline(never)]
    pub(crate) fn record_site(
        &self,
        generation: u32,
        (id, slot): (SiteId, &Slot),
        frames: &[usize],
        bytes: u64,
    ) {
        bump(&self.figures.events, 1);
        bump(&self.figures.frames, frames.len() as u64);
        let [first, second] = cache_key(frames).map(|index| &self.entries[index]);
        let stale = |entry: &Entry| (entry.tag.load(Relaxed) >> 32) as u32 != generation;
        let entry = if stale(first) {
            first
        } else if stale(second) || second.count.load(Relaxed) < first.count.load(Relaxed) {
            second
        } else {
            first
        };
        take_over(entry, generation, tag(generation, id), slot, bytes);
    }
}

/// Flushes `entry` to its site's shared counters (if it is of this generation) and reuses it
/// for the site `wanted` (a tag) whose slot is `slot`, counting one event of `bytes`.
#[inline(always)]
fn take_over(entry: &Entry, generation: u32, wanted: u64, slot: &Slot, bytes: u64) {
    let old = entry.tag.load(Relaxed);
    if old != 0 && (old >> 32) as u32 == generation {
        let old_slot = entry.slot.load(Relaxed);
        // SAFETY: an entry tagged with a site of this generation was given that site's
        // slot by `record_site`; slots live as long as the table, which is never freed.
        if let Some(old_slot) = unsafe { old_slot.as_ref() } {
            old_slot.count.fetch_add(entry.count.load(Relaxed), Relaxed);
            old_slot.bytes.fetch_add(entry.bytes.load(Relaxed), Relaxed);
        }
    }
    entry.count.store(0, Relaxed);
    entry.bytes.store(0, Relaxed);
    entry.tag.store(wanted, Relaxed);
    entry.slot.store(slot as *const Slot as *mut Slot, Relaxed);
    bump(&entry.count, 1);
    bump(&entry.bytes, bytes);
}

impl ThreadSites {
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
}

/// A non-null, never-dereferenced marker for "this thread has released its block".
const RELEASED: *const ThreadSites = 1 as *const ThreadSites;

thread_local! {
    // Const-initialised with no destructor: safe to reach from inside the allocator.
    pub(crate) static LOCAL: Local = const {
        Local {
            block: Cell::new(ptr::null()),
            synthetic: Cell::new((ptr::null(), 0)),
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

#[cfg(all(test, not(mod_alloc_loom)))]
mod tests {
    use super::super::table::{hash_frames, Table};
    use super::*;

    /// A zeroed block of the caller's own, outside the process-wide list.
    fn private_block() -> Box<ThreadSites> {
        let layout = Layout::new::<ThreadSites>();
        // SAFETY: non-zero-sized layout; all-zero bytes are a valid `ThreadSites` (see
        // `acquire`); the box frees it with the same global allocator and layout.
        unsafe {
            let memory = std::alloc::alloc_zeroed(layout).cast::<ThreadSites>();
            assert!(!memory.is_null());
            Box::from_raw(memory)
        }
    }

    /// What `super::record_in` does with a site, minus the thread-local plumbing.
    fn record(block: &ThreadSites, table: &Table, generation: u32, frames: &[usize], bytes: u64) {
        if !block.record_cached(generation, frames, bytes) {
            let site = table
                .intern(frames, hash_frames(frames), generation)
                .unwrap();
            block.record_site(generation, site, frames, bytes);
        }
    }

    #[test]
    // Thirty thousand events through a 16,384-slot table take many minutes under Miri; the
    // other tests here exercise the same code paths with Miri.
    #[cfg_attr(miri, ignore = "too slow under Miri")]
    fn counts_stay_exact_when_sites_evict_each_other() {
        // Far more sites than entries, visited in turn, so entries are taken over and flushed
        // all the time; plus one hot site that must keep hitting.
        let table = Table::new(1 << 14).unwrap();
        let block = private_block();
        let generation = 1;
        let sites = 3 * ENTRIES;
        let rounds = 5;
        let list = |site: usize| [0x1000 + 16 * site, 0x77, site % 5];
        for _ in 0..rounds {
            for site in 0..sites {
                record(&block, &table, generation, &list(site), site as u64);
                record(&block, &table, generation, &[0xaaa, 0xbbb], 1);
            }
        }
        let mut totals = std::collections::HashMap::new();
        table.for_each_site(generation, |id, slot| {
            totals.insert(id, (slot.count.load(Relaxed), slot.bytes.load(Relaxed)));
        });
        for entry in &block.entries {
            let tag = entry.tag.load(Relaxed);
            if (tag >> 32) as u32 == generation {
                let total = totals.get_mut(&SiteId(tag as u32)).unwrap();
                total.0 += entry.count.load(Relaxed);
                total.1 += entry.bytes.load(Relaxed);
            }
        }
        let rounds = rounds as u64;
        for site in 0..sites {
            let frames = list(site);
            let (id, _) = table
                .intern(&frames, hash_frames(&frames), generation)
                .unwrap();
            assert_eq!(totals[&id], (rounds, rounds * site as u64), "site {site}");
        }
        let (hot, _) = table
            .intern(&[0xaaa, 0xbbb], hash_frames(&[0xaaa, 0xbbb]), 1)
            .unwrap();
        let hot_total = rounds * sites as u64;
        assert_eq!(totals[&hot], (hot_total, hot_total));
        let figures = block.figures.load();
        assert_eq!(figures.events, 2 * hot_total);
        assert_eq!(totals.len(), sites + 1);
    }

    #[test]
    fn a_cached_site_of_an_old_generation_is_not_counted() {
        let table = Table::new(64).unwrap();
        let block = private_block();
        let frames = [0x10, 0x20, 0x30];
        record(&block, &table, 1, &frames, 8);
        assert!(block.record_cached(1, &frames, 8));
        // A different list with the same two innermost frames is not taken for the site.
        assert!(!block.record_cached(1, &[0x10, 0x20, 0x31], 8));
        table.sweep();
        assert!(!block.record_cached(2, &frames, 8));
    }
}
