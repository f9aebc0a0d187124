//! Each thread's share of a heap profile: the blocks it allocated, its pending events and a
//! cache of the program points it has met.
//!
//! # Who touches what
//!
//! A thread's [`ThreadHeap`] is a [`SpinLock`] that only its own thread takes on the hot path,
//! so the lock's cache line stays in that thread's CPU and two threads never wait for each
//! other. Other threads take it only while they hold the session lock, for rare work: a free
//! of a block this thread allocated, a flush of everyone's batch for `HeapStats` or a report,
//! the end of the session. The lock order is always session lock first, then a thread's; a
//! thread never asks for the session lock while it holds its own.
//!
//! The block lives in memory from [`System`], not in the thread-local area: it stays valid
//! for whoever holds the session lock after its thread has gone, until the thread's exit hook
//! hands its contents to the session and unregisters it (see `heap/mod.rs`).
//!
//! # Sessions
//!
//! A block remembers the session its contents belong to. When its thread next sees a different
//! session (or none), it forgets the old contents: by then the old session has taken whatever
//! it needed from them (its end flushes every registered block under both locks).

use core::ptr::NonNull;
use std::alloc::{GlobalAlloc, Layout, System};

use super::batch::Batch;
use super::live::LiveTable;
use super::lock::SpinLock;
use super::sysvec::{SysVec, CACHE_LINES};

/// A thread's heap bookkeeping, behind its own lock.
pub(crate) type ThreadHeap = SpinLock<ThreadData>;

pub(crate) struct ThreadData {
    /// The session these contents belong to; 0 for none.
    pub(crate) session: u64,
    /// That session's start, in clock ticks, and its capture depth.
    pub(crate) origin: u64,
    pub(crate) depth: usize,
    /// Blocks this thread allocated and nobody has freed yet.
    pub(crate) live: LiveTable,
    /// Events not yet applied to the session's figures.
    pub(crate) batch: Batch,
    /// Frame lists this thread has seen, with their program points.
    pub(crate) points: PointCache,
}

/// What a thread needs to know about the running session to record on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SessionInfo {
    pub(crate) id: u64,
    pub(crate) origin: u64,
    pub(crate) depth: usize,
}

impl ThreadData {
    /// Makes the contents belong to `session` (`None`: no session runs), forgetting those of
    /// any other. Returns whether a session runs.
    #[cold]
    pub(crate) fn follow(&mut self, session: Option<SessionInfo>) -> bool {
        let id = session.map_or(0, |info| info.id);
        if self.session != id {
            self.forget();
            if let Some(info) = session {
                self.session = info.id;
                self.origin = info.origin;
                self.depth = info.depth;
            }
        }
        id != 0
    }

    /// Drops everything, returning the tables' memory.
    pub(crate) fn forget(&mut self) {
        self.session = 0;
        self.live = LiveTable::new();
        self.batch.clear();
        self.points = PointCache::new();
    }
}

/// Allocates an empty block from [`System`]; `None` if memory ran out.
///
/// It is made in place from zeroed memory (about 7 KiB: every field but the two tables is
/// valid as zeroes), so nothing that large is ever built on the stack of an allocating thread.
pub(crate) fn create() -> Option<NonNull<ThreadHeap>> {
    // SAFETY: the layout has a non-zero size.
    let raw = unsafe { System.alloc_zeroed(block_layout()) }.cast::<ThreadHeap>();
    let block = NonNull::new(raw)?;
    // SAFETY: `raw` is valid, zeroed memory for a `ThreadHeap`: an unlocked lock, session 0
    // and an empty batch. The live table and the point cache hold a `NonNull`, for which
    // zeroes are not valid, so they are written before anything reads the value.
    unsafe {
        let data = SpinLock::value_ptr(raw);
        core::ptr::addr_of_mut!((*data).live).write(LiveTable::new());
        core::ptr::addr_of_mut!((*data).points).write(PointCache::new());
    }
    Some(block)
}

/// A block's allocation: whole cache-line pairs, like the tables' (see `sysvec.rs`), since
/// its thread writes its lock and batch on every event.
fn block_layout() -> Layout {
    let layout = Layout::new::<ThreadHeap>();
    layout
        .align_to(CACHE_LINES)
        .map_or(layout, |aligned| aligned.pad_to_align())
}

/// Frees a block made by [`create`].
///
/// # Safety
///
/// Nobody may use the block again: it must be unregistered and its thread gone or done.
pub(crate) unsafe fn destroy(block: NonNull<ThreadHeap>) {
    // SAFETY: the caller guarantees exclusive, final access; the block was made by `create`
    // with this layout, and its two tables (the fields that own memory) are dropped first.
    unsafe {
        let data = SpinLock::value_ptr(block.as_ptr());
        core::ptr::drop_in_place(core::ptr::addr_of_mut!((*data).live));
        core::ptr::drop_in_place(core::ptr::addr_of_mut!((*data).points));
        System.dealloc(block.as_ptr().cast(), block_layout());
    }
}

/// Entries a thread's point cache starts with, and the most it grows to (2 MiB). Under Miri
/// the largest size is smaller, so that the tests that fill it run in seconds there too.
const CACHE_MIN_ENTRIES: usize = 64;
const CACHE_MAX_ENTRIES: usize = if cfg!(miri) { 1 << 10 } else { 1 << 16 };

/// One remembered frame list. `key` 0 marks an empty entry.
#[derive(Clone, Copy)]
struct CacheEntry {
    key: u64,
    /// The point's frames in the session's frame arena (see `arena.rs`).
    frames_at: *const usize,
    len: usize,
    point: u32,
}

const EMPTY_ENTRY: CacheEntry = CacheEntry {
    key: 0,
    frames_at: core::ptr::null(),
    len: 0,
    point: 0,
};

/// Frame list → program point, for every frame list this thread has met in the current
/// session.
///
/// A hit saves the session lock and the shared index. Open addressing with linear probing
/// on a hash of the whole list, grown to twice the size when three quarters full, so a thread
/// that keeps meeting thousands of call stacks finds each one here after the first time,
/// instead of evicting and going back to the session lock (which all threads share). Once a
/// table of [`CACHE_MAX_ENTRIES`] is three quarters full, the cache starts over empty. Identity is settled by comparing the
/// whole list with the point's own frames, so a collision costs a probe, never a wrong point.
pub(crate) struct PointCache {
    slots: SysVec<CacheEntry>,
    len: usize,
    /// `64 - log2(slots)`, for [`PointCache::home`]; unused while there are no slots.
    shift: u32,
}

// SAFETY: the entries point into a session's frame arena, whose lists are never written
// again; the cache is only used by its thread or under that thread's lock.
unsafe impl Send for PointCache {}

impl PointCache {
    pub(crate) const fn new() -> Self {
        PointCache {
            slots: SysVec::new(),
            len: 0,
            shift: 63,
        }
    }

    /// The key for `frames`, which reads every frame; never 0.
    ///
    /// This runs on every event. The frames are folded in with a rotate and an XOR each,
    /// one cycle of latency per frame where a multiply per frame would cost several. Then the
    /// fold's top half is folded onto its bottom half, and one multiply carries every bit up
    /// into the top bits that [`PointCache::home`] reads (a multiply alone leaves the top of
    /// its input out of them).
    #[inline]
    pub(crate) fn key(frames: &[usize]) -> u64 {
        let mut folded = frames.len() as u64;
        for &frame in frames {
            folded = folded.rotate_left(13) ^ frame as u64;
        }
        (folded ^ (folded >> 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1
    }

    /// Where probing for `key` starts, in a table of `mask + 1` slots whose `shift` is
    /// `64 - log2(mask + 1)`: the key's top bits (its lowest is always set).
    #[inline(always)]
    fn home(key: u64, shift: u32, mask: usize) -> usize {
        (key >> shift) as usize & mask
    }

    /// The point for `frames`, if this thread has met it in the current session.
    #[inline]
    pub(crate) fn find(&self, frames: &[usize], key: u64) -> Option<u32> {
        let slots = self.slots.as_slice();
        let mask = slots.len().checked_sub(1)?;
        let mut index = Self::home(key, self.shift, mask);
        loop {
            let entry = slots[index];
            if entry.key == 0 {
                return None;
            }
            if entry.key == key && entry.len == frames.len() {
                // SAFETY: entries are made only from points of the current session, whose
                // frame arena keeps `len` frames at `frames_at` until the session ends; the
                // cache is emptied (`ThreadData::forget`) before its thread records for
                // another session.
                let stored = unsafe { core::slice::from_raw_parts(entry.frames_at, entry.len) };
                if stored == frames {
                    return Some(entry.point);
                }
            }
            index = (index + 1) & mask;
        }
    }

    /// Remembers `point` for frames stored at `frames_at` (`len` of them), which
    /// [`PointCache::find`] did not know. If the cache cannot grow, it is left as it is.
    pub(crate) fn insert(&mut self, key: u64, frames_at: *const usize, len: usize, point: u32) {
        if (self.len + 1) * 4 > self.slots.len() * 3 && !self.grow() {
            return;
        }
        let mask = self.slots.len() - 1;
        let shift = self.shift;
        let slots = self.slots.as_mut_slice();
        let mut index = Self::home(key, shift, mask);
        while slots[index].key != 0 {
            index = (index + 1) & mask;
        }
        slots[index] = CacheEntry {
            key,
            frames_at,
            len,
            point,
        };
        self.len += 1;
    }

    /// Doubles the table (or starts over at the largest size); `false` if memory ran out.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) -> bool {
        let capacity = (self.slots.len() * 2).max(CACHE_MIN_ENTRIES);
        if capacity > CACHE_MAX_ENTRIES {
            self.slots.as_mut_slice().fill(EMPTY_ENTRY);
            self.len = 0;
            return true;
        }
        let Some(fresh) = SysVec::filled(EMPTY_ENTRY, capacity) else {
            return false;
        };
        let old = core::mem::replace(&mut self.slots, fresh);
        self.len = 0;
        self.shift = Self::shift_for(capacity);
        for entry in old.as_slice().iter().filter(|entry| entry.key != 0) {
            self.insert(entry.key, entry.frames_at, entry.len, entry.point);
        }
        true
    }

    /// The `shift` of a table of `capacity` slots, a power of two.
    fn shift_for(capacity: usize) -> u32 {
        64 - capacity.trailing_zeros()
    }

    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_identical_frame_lists() {
        let mut cache = PointCache::new();
        let first = [1usize, 2, 3, 4, 5];
        let same_start = [1usize, 2, 3, 4, 6];
        assert_ne!(
            PointCache::key(&first),
            PointCache::key(&same_start),
            "the key reads every frame"
        );
        let key = PointCache::key(&first);
        assert_eq!(cache.find(&first, key), None, "an empty cache");
        cache.insert(key, first.as_ptr(), first.len(), 7);
        assert_eq!(cache.find(&first, key), Some(7));
        assert_eq!(cache.find(&first[..4], PointCache::key(&first[..4])), None);
        // Two lists under one key (a collision): each is told apart by its frames.
        assert_eq!(cache.find(&same_start, key), None);
        cache.insert(key, same_start.as_ptr(), same_start.len(), 8);
        assert_eq!(cache.find(&first, key), Some(7));
        assert_eq!(cache.find(&same_start, key), Some(8));
    }

    /// Lists that differ in the low bits of one frame only (call sites a few bytes apart)
    /// start their probes all over the table, whatever their length and the table's size.
    /// Arithmetic only, and slow under Miri, which has nothing to check in it.
    #[cfg(not(miri))]
    #[test]
    fn keys_spread_lists_over_the_table() {
        for capacity in [CACHE_MIN_ENTRIES, 1024, CACHE_MAX_ENTRIES] {
            let (shift, mask) = (PointCache::shift_for(capacity), capacity - 1);
            for len in [1, 2, 4, 5, 10, 15, 16] {
                for position in [0, len / 2, len - 1] {
                    let mut homes: Vec<usize> = (0..1024usize)
                        .map(|i| {
                            let mut frames: Vec<usize> =
                                (0..len).map(|f| 0x5555_0000 + 0x40 * f).collect();
                            frames[position] += 0x40 * i;
                            PointCache::home(PointCache::key(&frames), shift, mask)
                        })
                        .collect();
                    homes.sort_unstable();
                    homes.dedup();
                    // 1,024 random picks would fill all 64 slots, about 647 of 1,024 and
                    // about 1,016 of 65,536; the multiply by itself filled as few as 1.
                    let expected = match capacity {
                        CACHE_MIN_ENTRIES => 64,
                        1024 => 500,
                        _ => 950,
                    };
                    assert!(
                        homes.len() >= expected,
                        "{} slots of {capacity} for length {len}, frame {position}",
                        homes.len()
                    );
                }
            }
        }
    }

    #[test]
    fn grows_to_keep_every_list_until_the_largest_size_then_starts_over() {
        let lists: Vec<[usize; 3]> = (1..=CACHE_MAX_ENTRIES / 2).map(|i| [i, i + 1, 7]).collect();
        let mut cache = PointCache::new();
        for (point, list) in lists.iter().enumerate() {
            cache.insert(PointCache::key(list), list.as_ptr(), 3, point as u32);
        }
        assert_eq!(cache.capacity(), CACHE_MAX_ENTRIES);
        for (point, list) in lists.iter().enumerate() {
            assert_eq!(cache.find(list, PointCache::key(list)), Some(point as u32));
        }
        // Filling it to three quarters of the largest size, and one more, starts it over.
        let more: Vec<[usize; 3]> = (0..=CACHE_MAX_ENTRIES / 4).map(|i| [i, 9, 9]).collect();
        for list in &more {
            cache.insert(PointCache::key(list), list.as_ptr(), 3, 1);
        }
        assert_eq!(cache.capacity(), CACHE_MAX_ENTRIES);
        assert_eq!(cache.len, 1);
        assert_eq!(cache.find(&lists[0], PointCache::key(&lists[0])), None);
        let last = more.last().unwrap();
        assert_eq!(cache.find(last, PointCache::key(last)), Some(1));
    }

    #[test]
    fn a_new_session_forgets_the_old_contents() {
        let block = create().unwrap();
        assert_eq!(
            block.as_ptr() as usize % CACHE_LINES,
            0,
            "whole cache lines"
        );
        // SAFETY: the block is ours alone and destroyed at the end.
        let heap = unsafe { block.as_ref() };
        {
            let mut data = heap.lock();
            let info = SessionInfo {
                id: 3,
                origin: 100,
                depth: 12,
            };
            assert!(data.follow(Some(info)));
            assert!(data
                .live
                .insert(0x1000, super::super::live::LiveBlock { point: 0, birth: 5 }));
            data.batch.alloc(0, 16, 5);
            assert!(data.follow(Some(info)), "same session: kept");
            assert!(!data.batch.is_empty());
            assert!(!data.follow(None));
            assert!(data.batch.is_empty());
            assert_eq!(data.live.remove(0x1000), None);
            assert!(data.follow(Some(SessionInfo { id: 4, ..info })));
            assert_eq!((data.session, data.origin, data.depth), (4, 100, 12));
        }
        // SAFETY: no other reference to the block remains.
        unsafe { destroy(block) };
    }
}
