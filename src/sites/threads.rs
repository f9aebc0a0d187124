//! Per-thread call-site counters, so a hot site costs no shared read-modify-write.
//!
//! If every event added to its site's counters with `fetch_add`, threads allocating at the
//! same site would fight over one cache line. Instead each thread owns a [`ThreadSites`]
//! block: a cache of `(site, count, bytes)` entries plus the thread's figures for events that
//! found no site. Only the owner writes a block, with plain load-and-store pairs on atomics
//! (no locked instruction); report code reads every block.
//!
//! The cache is also how an event finds its site. It is keyed by the event's frame list:
//! [`lookup`] mixes the two innermost frames and the length, and a list may sit in either of
//! two entries it picks (two-choice hashing, so a few hundred sites rotating through one
//! thread rarely evict each other). Each entry keeps its own copy of its site's first
//! [`INLINE_FRAMES`] frames, so a hit compares the event's frames in full against memory the
//! thread already owns (a 32-byte head with the key and counters, and two lines of frames)
//! and reads nothing of the shared table unless the list is longer than the copy (its tail
//! is then compared with the site's slot). A key collision can cost a table lookup but never
//! misattribute an event. Only a miss hashes the frames and probes the shared table.
//!
//! The copy is exact for the whole generation the entry is tagged with: it is taken from the
//! event that found (or inserted) the site, and a slot's frames change only when a sweep
//! empties it for a new generation, which makes every entry of the old one stale.
//!
//! - An event whose site is in one of its entries adds to that entry. On a miss the event
//!   takes over one of its two entries (a stale one if there is one, else the one whose last
//!   event is older), first flushing the entry into its old site's shared counters in the
//!   table ([`Slot::add_if_site_of`]: two relaxed `fetch_add`s inside a handshake with the
//!   sweep, see below).
//! - An entry is tagged with the capture generation and site id. A report adds the entries of
//!   its generation to the sites' shared counters; stale entries are ignored and never
//!   flushed.
//! - Per-site totals are therefore exact whenever the allocating threads are quiet. While they
//!   run, a report can miss or double an entry that is being flushed at that instant.
//!
//! # Stragglers
//!
//! An event uses the generation it loaded when it started. If, while it is between that load
//! and its flush, the last session ends and a new one sweeps the table, the entry it flushes
//! belongs to a finished generation, and the entry's slot may since have been emptied or
//! claimed for another frame list of the new generation. So a flush adds to the slot only
//! while it is still a published site of the entry's generation, checked in a way the sweep
//! cannot slip between (see "Flushes and sweeps" in [`super::table`](mod@super::table));
//! otherwise its events land nowhere. They belong to a finished generation whose reports are
//! over, and no site of a later generation is ever credited with them. The check costs each
//! flush two more atomic read-modify-writes; hits never flush, so the hot path pays nothing.
//!
//! Blocks come from [`System`], are linked into a grow-only list and are never freed. A
//! block whose thread has exited (see [`release_current`]) is adopted, with its figures, by
//! the next thread that needs one: figures are sums, so it does not matter which thread added
//! what. Until the thread-exit hook calls it, each thread that ever recorded a site keeps its
//! block (176 KiB of zeroed memory, of which only the pages of entries it uses are touched)
//! for the life of the process.

use core::cell::{Cell, UnsafeCell};
use core::ptr;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64};
use std::alloc::{GlobalAlloc, Layout, System};

use super::table::Slot;
use super::SiteId;

/// Entries in each thread's site cache (a power of two): twice the 512 sites a thread can
/// rotate through without the table being probed at all.
const ENTRIES: usize = 1024;

/// Frames an entry keeps a copy of: the default capture depth, so a default-depth hit reads
/// nothing outside the thread's own block.
pub(crate) const INLINE_FRAMES: usize = crate::walk::DEFAULT_FRAMES;

/// The longest frame list an entry can be keyed by (its length has 8 bits in the key);
/// captures are at most [`crate::walk::MAX_FRAMES`] long.
pub(crate) const MAX_KEYED_FRAMES: usize = 0xff;

/// The cache's entries, split in three arrays so that a hit touches few cache lines: the
/// entry's head (key and counters: 32 bytes, two to a line) and its frame copy (two lines),
/// nothing else. The site's tag and slot, which only misses and reports need, live apart.
struct Entries {
    heads: [Head; ENTRIES],
    copies: [FrameCopy; ENTRIES],
    sites: [SiteRef; ENTRIES],
}

/// What a hit reads and writes besides the frames.
#[repr(C, align(32))]
struct Head {
    /// See [`Lookup::key`]; 0 when the entry was never used (no list is empty, so 0 matches
    /// no event).
    key: AtomicU64,
    /// Events and bytes counted here since the entry took over its site.
    count: AtomicU64,
    bytes: AtomicU64,
    /// The owner's event count (low 32 bits) at the entry's last event: when both of a new
    /// site's candidates are taken, the one used longer ago gives way. (Keeping the one with
    /// more events instead would let sites that are no longer used, with large counts, hold
    /// on to their entries for good, and the sites in use evict each other.)
    stamp: AtomicU32,
}

/// The first [`INLINE_FRAMES`] frames of an entry's list, on lines of their own. Only the
/// thread that owns the block reads or writes them (see the `Sync` impl of [`ThreadSites`]).
#[repr(C, align(64))]
struct FrameCopy(UnsafeCell<[usize; INLINE_FRAMES]>);

/// The site an entry counts for.
struct SiteRef {
    /// `generation << 32 | site id`, for reports and flushes (0 = no site).
    tag: AtomicU64,
    /// The site's slot in the table: flushes add to it, and the frames of lists longer than
    /// [`INLINE_FRAMES`] are compared with it (null: none yet).
    slot: AtomicPtr<Slot>,
}

/// Where a frame list may sit in the cache and what it is keyed by there.
#[derive(Clone, Copy)]
struct Lookup {
    /// Its two candidate entries.
    candidates: [usize; 2],
    /// `generation << 32 | fingerprint << 8 | length`: an entry whose key differs holds
    /// another list (or one of another generation) and is passed over without reading its
    /// frames. The 24-bit fingerprint comes from the two innermost frames. Equal keys still
    /// need the full comparison of frames.
    key: u64,
}

/// The [`Lookup`] of `frames` (1 to [`MAX_KEYED_FRAMES`] of them) in `generation`: one
/// multiply mixes the two innermost frames and the length.
#[inline(always)]
fn lookup(generation: u32, frames: &[usize]) -> Lookup {
    debug_assert!(!frames.is_empty() && frames.len() <= MAX_KEYED_FRAMES);
    let first = frames[0] as u64;
    // A one-frame list mixes its frame twice; no branch either way.
    let second = frames[usize::from(frames.len() > 1)] as u64;
    let len = frames.len() as u64;
    let mixed = (first ^ second.rotate_left(23) ^ len).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mask = ENTRIES as u64 - 1;
    Lookup {
        candidates: [
            ((mixed >> 54) & mask) as usize,
            ((mixed >> 40) & mask) as usize,
        ],
        key: (u64::from(generation) << 32) | (mixed & 0xffff_ff00) | len,
    }
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

/// Adds `n` to a counter only the calling thread writes; returns the new value.
#[inline(always)]
fn bump(counter: &AtomicU64, n: u64) -> u64 {
    let value = counter.load(Relaxed).wrapping_add(n);
    counter.store(value, Relaxed);
    value
}

/// One thread's site cache and figures.
pub(crate) struct ThreadSites {
    entries: Entries,
    figures: Figures,
    in_use: AtomicBool,
    /// Set once before the block is published, never changed.
    next: AtomicPtr<ThreadSites>,
}

// SAFETY: every field is an atomic except the entries' frame copies, which only the block's
// owner reads or writes: the thread that set `in_use` (adopting a block synchronises with the
// previous owner's release, see `acquire` and `release`), or a test that owns a private
// block. Reports and flushes from other threads read only the atomics.
unsafe impl Sync for ThreadSites {}

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
    /// their site in `generation`; `false` (nothing counted) if it does not, or if `frames`
    /// is empty or longer than [`MAX_KEYED_FRAMES`].
    #[inline(always)]
    pub(crate) fn record_cached(&self, generation: u32, frames: &[usize], bytes: u64) -> bool {
        if frames.is_empty() || frames.len() > MAX_KEYED_FRAMES {
            return false;
        }
        let Lookup { candidates, key } = lookup(generation, frames);
        let entries = &self.entries;
        // The first candidate is tried first: a new site takes it whenever it is free, so
        // with few sites this branch is well predicted.
        let holds = |index: usize| {
            entries.heads[index].key.load(Relaxed) == key
                && entries.holds(index, generation, frames)
        };
        let [first, second] = candidates;
        let found = if holds(first) {
            first
        } else if holds(second) {
            second
        } else {
            return false;
        };
        let now = bump(&self.figures.events, 1);
        bump(&self.figures.frames, frames.len() as u64);
        let head = &entries.heads[found];
        bump(&head.count, 1);
        bump(&head.bytes, bytes);
        head.stamp.store(now as u32, Relaxed);
        true
    }

    /// Counts one event of `bytes` at site `id`, whose slot `slot` holds `frames` (1 to
    /// [`MAX_KEYED_FRAMES`] of them) in `generation`, after [`ThreadSites::record_cached`]
    /// missed: the site takes over one of its two entries.
    #[inline(never)]
    pub(crate) fn record_site(
        &self,
        generation: u32,
        (id, slot): (SiteId, &Slot),
        frames: &[usize],
        bytes: u64,
    ) {
        let now = bump(&self.figures.events, 1) as u32;
        bump(&self.figures.frames, frames.len() as u64);
        if frames.is_empty() || frames.len() > MAX_KEYED_FRAMES {
            // Not cachable: straight to the site's shared counters, if a sweep has not taken
            // the slot since `intern` found it.
            slot.add_if_site_of(generation, 1, bytes);
            return;
        }
        let entries = &self.entries;
        let Lookup { candidates, key } = lookup(generation, frames);
        let [first, second] = candidates;
        let stale =
            |index: usize| (entries.sites[index].tag.load(Relaxed) >> 32) as u32 != generation;
        let idle = |index: usize| now.wrapping_sub(entries.heads[index].stamp.load(Relaxed));
        let index = if stale(first) {
            first
        } else if stale(second) || idle(second) > idle(first) {
            second
        } else {
            first
        };
        entries.take_over(index, generation, key, (id, slot), frames, bytes);
        entries.heads[index].stamp.store(now, Relaxed);
    }
}

impl Entries {
    /// Whether entry `index`, whose key matched that of `frames` in `generation`, holds
    /// exactly `frames`. The copy is compared first; a longer list's tail is compared with
    /// the site's slot.
    #[inline(always)]
    fn holds(&self, index: usize, generation: u32, frames: &[usize]) -> bool {
        // SAFETY: only this block's owner, the calling thread, touches frame copies (see the
        // `Sync` impl of `ThreadSites`), and it holds no other reference to this one.
        let copy = unsafe { &*self.copies[index].0.get() };
        let inline = frames.len().min(INLINE_FRAMES);
        // Branch-free: equal lists (the common case on a hot site) read every frame anyway.
        let difference = copy[..inline]
            .iter()
            .zip(&frames[..inline])
            .fold(0, |difference, (&kept, &frame)| difference | (kept ^ frame));
        if difference != 0 {
            return false;
        }
        frames.len() <= INLINE_FRAMES || self.tail_matches(index, generation, frames)
    }

    /// For a list longer than the copy: whether the site's slot holds the same list.
    #[cold]
    #[inline(never)]
    fn tail_matches(&self, index: usize, generation: u32, frames: &[usize]) -> bool {
        let slot = self.sites[index].slot.load(Relaxed);
        // SAFETY: an entry with a key was given its site's slot by `take_over`; slots live as
        // long as the table, which is never freed.
        unsafe { slot.as_ref() }.is_some_and(|slot| slot.is_site_of(generation, frames))
    }

    /// Flushes entry `index` to its site's shared counters (if it is of this generation and
    /// its slot still holds that site) and reuses it for site `id` of `generation`, whose slot
    /// `slot` holds `frames` (keyed by `key`), counting one event of `bytes`.
    #[inline(always)]
    fn take_over(
        &self,
        index: usize,
        generation: u32,
        key: u64,
        (id, slot): (SiteId, &Slot),
        frames: &[usize],
        bytes: u64,
    ) {
        let head = &self.heads[index];
        let site = &self.sites[index];
        let old = site.tag.load(Relaxed);
        if old != 0 && (old >> 32) as u32 == generation {
            let old_slot = site.slot.load(Relaxed);
            // SAFETY: an entry tagged with a site of this generation was given that site's
            // slot by `take_over`; slots live as long as the table, which is never freed.
            if let Some(old_slot) = unsafe { old_slot.as_ref() } {
                // `generation` may already be over (see "Stragglers" in the module docs):
                // then the slot may have been swept, and its events land nowhere.
                old_slot.add_if_site_of(
                    generation,
                    head.count.load(Relaxed),
                    head.bytes.load(Relaxed),
                );
            }
        }
        let inline = frames.len().min(INLINE_FRAMES);
        // SAFETY: only this block's owner, the calling thread, touches frame copies, and it
        // holds no other reference to this one.
        let copy = unsafe { &mut *self.copies[index].0.get() };
        copy[..inline].copy_from_slice(&frames[..inline]);
        head.count.store(1, Relaxed);
        head.bytes.store(bytes, Relaxed);
        site.tag.store(tag(generation, id), Relaxed);
        site.slot.store(slot as *const Slot as *mut Slot, Relaxed);
        head.key.store(key, Relaxed);
    }
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
        };
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
        for_each_entry(block, generation, &mut f);
    }
}

/// Calls `f(site, count, bytes)` for every entry of `block` cached in `generation`.
fn for_each_entry(block: &ThreadSites, generation: u32, mut f: impl FnMut(SiteId, u64, u64)) {
    let entries = &block.entries;
    for (site, head) in entries.sites.iter().zip(&entries.heads) {
        let tag = site.tag.load(Relaxed);
        if tag != 0 && (tag >> 32) as u32 == generation {
            f(
                SiteId(tag as u32),
                head.count.load(Relaxed),
                head.bytes.load(Relaxed),
            );
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
    /// The thread's block while events may take the fast path: acquired, not released, and
    /// no synthetic frames installed. Null otherwise, which sends events to the slow path
    /// (see `super::record`), so a hit tests one pointer instead of three conditions.
    fast: Cell<*const ThreadSites>,
    block: Cell<*const ThreadSites>,
    /// Synthetic frames replacing the walk, for tests (see `super::with_synthetic_frames`).
    synthetic: Cell<(*const usize, usize)>,
}

/// A non-null, never-dereferenced marker for "this thread has released its block".
const RELEASED: *const ThreadSites = 1 as *const ThreadSites;

thread_local! {
    // Const-initialised with no destructor: safe to reach from inside the allocator.
    pub(crate) static LOCAL: Local = const {
        Local {
            fast: Cell::new(ptr::null()),
            block: Cell::new(ptr::null()),
            synthetic: Cell::new((ptr::null(), 0)),
        }
    };
}

impl Local {
    /// This thread's block if an event may skip every check of [`Local::block`] and
    /// [`Local::synthetic`].
    #[inline(always)]
    pub(crate) fn fast_block(&self) -> Option<&'static ThreadSites> {
        // SAFETY: `fast` is null or was copied from `block` while that held a real block,
        // which was stored from a `&'static ThreadSites`.
        unsafe { self.fast.get().as_ref() }
    }

    /// This thread's block, acquired on first use. `None` after release or without memory.
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
        self.refresh_fast();
        Some(block)
    }

    /// The installed synthetic frames (a null pointer when there are none).
    pub(crate) fn synthetic(&self) -> (*const usize, usize) {
        self.synthetic.get()
    }

    /// Installs synthetic frames (or, with a null pointer, removes them); returns the old.
    pub(crate) fn replace_synthetic(&self, frames: (*const usize, usize)) -> (*const usize, usize) {
        let previous = self.synthetic.replace(frames);
        self.refresh_fast();
        previous
    }

    /// Recomputes `fast` after `block` or `synthetic` changed.
    fn refresh_fast(&self) {
        let block = self.block.get();
        let usable = !block.is_null() && block != RELEASED && self.synthetic.get().0.is_null();
        self.fast.set(if usable { block } else { ptr::null() });
    }
}

/// Hands the calling thread's block to later threads. For the thread-exit hook; events the
/// thread makes afterwards are counted as orphans.
pub(crate) fn release_current() {
    let _ = LOCAL.try_with(|local| {
        let block = local.block.get();
        if !block.is_null() && block != RELEASED {
            local.block.set(RELEASED);
            local.refresh_fast();
            // SAFETY: stored from a `&'static ThreadSites`.
            release(unsafe { &*block });
        }
    });
}

#[cfg(all(test, not(mod_alloc_loom)))]
mod tests {
    use super::super::table::{hash_frames, Table};
    use super::*;
    use std::collections::HashMap;

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

    /// What `super::record` does with a site, minus the thread-local plumbing.
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
        for_each_entry(&block, generation, |id, count, bytes| {
            let total = totals.get_mut(&id).unwrap();
            total.0 += count;
            total.1 += bytes;
        });
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

    /// Every site's total: its slot's counters plus the block's entries of `generation`.
    fn totals(block: &ThreadSites, table: &Table, generation: u32) -> HashMap<Vec<usize>, u64> {
        let mut by_id = HashMap::new();
        table.for_each_site(generation, |id, slot| {
            by_id.insert(id, slot.count.load(Relaxed));
        });
        for_each_entry(block, generation, |id, count, _| {
            *by_id.get_mut(&id).unwrap() += count;
        });
        let mut by_frames = HashMap::new();
        for (id, count) in by_id {
            let mut frames = Vec::new();
            table.slot(id).unwrap().copy_frames(&mut frames);
            by_frames.insert(frames, count);
        }
        by_frames
    }

    #[test]
    fn lists_longer_than_the_copy_are_told_apart_by_their_tails() {
        let table = Table::new(64).unwrap();
        let block = private_block();
        // Equal in the copied frames (so also in key and candidates), different at frame 18.
        let first: Vec<usize> = (1..=20).map(|i| 0x1000 * i).collect();
        let mut second = first.clone();
        second[17] += 8;
        for _ in 0..3 {
            record(&block, &table, 1, &first, 1);
        }
        for _ in 0..2 {
            record(&block, &table, 1, &second, 1);
        }
        assert!(block.record_cached(1, &first, 1));
        assert!(block.record_cached(1, &second, 1));
        let totals = totals(&block, &table, 1);
        assert_eq!(totals.len(), 2);
        assert_eq!(totals[&first], 4);
        assert_eq!(totals[&second], 3);
    }

    #[test]
    fn idle_entries_give_way_to_sites_in_use() {
        let table = Table::new(64).unwrap();
        let block = private_block();
        // Same two innermost frames and length: one key, one pair of candidate entries.
        let idle = [0x10, 0x20, 1];
        let busy = [[0x10, 0x20, 2], [0x10, 0x20, 3]];
        for _ in 0..100 {
            record(&block, &table, 1, &idle, 1);
        }
        // The idle site has many more events than either busy one, yet after the first
        // round both busy sites stay cached.
        let rounds = 10;
        let mut misses_after_first_round = 0;
        for round in 0..rounds {
            for frames in &busy {
                if !block.record_cached(1, frames, 1) {
                    if round > 0 {
                        misses_after_first_round += 1;
                    }
                    let site = table.intern(frames, hash_frames(frames), 1).unwrap();
                    block.record_site(1, site, frames, 1);
                }
            }
        }
        assert_eq!(misses_after_first_round, 0);
        let totals = totals(&block, &table, 1);
        assert_eq!(totals[&idle[..]], 100);
        assert_eq!(totals[&busy[0][..]], rounds);
        assert_eq!(totals[&busy[1][..]], rounds);
    }

    /// Three lists with one key, so they compete for the same two entries.
    const OLD: [usize; 3] = [0x10, 0x20, 1];
    const FILLER: [usize; 3] = [0x10, 0x20, 2];
    const STRAGGLER: [usize; 3] = [0x10, 0x20, 3];

    /// A thread caches three events at `OLD` and one at `FILLER` in generation 1, so both
    /// candidate entries hold sites and `OLD`'s is the one to give way. Returns `OLD`'s slot.
    fn cache_old_generation<'t>(block: &ThreadSites, table: &'t Table) -> &'t Slot {
        for _ in 0..3 {
            record(block, table, 1, &OLD, 8);
        }
        record(block, table, 1, &FILLER, 8);
        let (_, slot) = table.intern(&OLD, hash_frames(&OLD), 1).unwrap();
        assert_eq!(slot.count.load(Relaxed), 0, "still in the thread's entry");
        slot
    }

    /// What a thread that loaded generation 1 just before a new session began does with its
    /// next miss: it takes over `OLD`'s entry and flushes it.
    fn straggler_event(block: &ThreadSites, table: &Table) {
        let site = table
            .intern(&STRAGGLER, hash_frames(&STRAGGLER), 1)
            .unwrap();
        block.record_site(1, site, &STRAGGLER, 8);
        assert!(block.record_cached(1, &STRAGGLER, 8), "it took an entry");
        assert!(!block.record_cached(1, &OLD, 8), "it took `OLD`'s entry");
    }

    #[test]
    fn a_straggler_flush_never_credits_a_site_of_the_next_generation() {
        let table = Table::new(64).unwrap();
        let block = private_block();
        let old_slot = cache_old_generation(&block, &table);
        // A new session sweeps the table, and generation 2 claims the same slot for another
        // list (the same hash makes it probe the same slot first).
        table.sweep();
        let new = [0x99, 0x98];
        let (_, new_slot) = table.intern(&new, hash_frames(&OLD), 2).unwrap();
        assert!(
            ptr::eq(new_slot, old_slot),
            "the test needs the slot reused"
        );
        straggler_event(&block, &table);
        assert_eq!(
            (new_slot.count.load(Relaxed), new_slot.bytes.load(Relaxed)),
            (0, 0),
            "`OLD`'s events from generation 1 landed on a site of generation 2"
        );
    }

    #[test]
    fn a_straggler_flush_into_a_swept_slot_is_not_inherited_by_its_next_site() {
        let table = Table::new(64).unwrap();
        let block = private_block();
        let old_slot = cache_old_generation(&block, &table);
        table.sweep();
        // The flush comes after the sweep but before generation 2 claims the slot.
        straggler_event(&block, &table);
        let new = [0x99, 0x98];
        let (_, new_slot) = table.intern(&new, hash_frames(&OLD), 2).unwrap();
        assert!(
            ptr::eq(new_slot, old_slot),
            "the test needs the slot reused"
        );
        assert_eq!(
            (new_slot.count.load(Relaxed), new_slot.bytes.load(Relaxed)),
            (0, 0),
            "the new site inherited `OLD`'s events from generation 1"
        );
    }

    #[test]
    fn the_fast_path_is_taken_only_with_a_block_and_no_synthetic_frames() {
        std::thread::spawn(|| {
            LOCAL.with(|local| {
                assert!(local.fast_block().is_none(), "no block yet");
                let block = local.block().unwrap();
                assert!(ptr::eq(local.fast_block().unwrap(), block));
                let frames = [1usize, 2];
                local.replace_synthetic((frames.as_ptr(), frames.len()));
                assert!(local.fast_block().is_none(), "synthetic frames installed");
                local.replace_synthetic((ptr::null(), 0));
                assert!(ptr::eq(local.fast_block().unwrap(), block));
                release_current();
                assert!(local.fast_block().is_none(), "block released");
                assert!(local.block().is_none());
            });
        })
        .join()
        .unwrap();
    }
}
