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

    /// Drops everything, returning the table's memory.
    pub(crate) fn forget(&mut self) {
        self.session = 0;
        self.live = LiveTable::new();
        self.batch.clear();
        self.points.clear();
    }
}

/// Allocates an empty block from [`System`]; `None` if memory ran out.
///
/// It is made in place from zeroed memory (about 40 KiB: every field but the live table is
/// valid as zeroes), so nothing that large is ever built on the stack of an allocating thread.
pub(crate) fn create() -> Option<NonNull<ThreadHeap>> {
    // SAFETY: the layout has a non-zero size.
    let raw = unsafe { System.alloc_zeroed(Layout::new::<ThreadHeap>()) }.cast::<ThreadHeap>();
    let block = NonNull::new(raw)?;
    // SAFETY: `raw` is valid, zeroed memory for a `ThreadHeap`: an unlocked lock, session 0,
    // an empty batch and an empty cache. The live table holds a `NonNull`, for which zeroes
    // are not valid, so it is written before anything reads the value.
    unsafe {
        let data = SpinLock::value_ptr(raw);
        core::ptr::addr_of_mut!((*data).live).write(LiveTable::new());
    }
    Some(block)
}

/// Frees a block made by [`create`].
///
/// # Safety
///
/// Nobody may use the block again: it must be unregistered and its thread gone or done.
pub(crate) unsafe fn destroy(block: NonNull<ThreadHeap>) {
    // SAFETY: the caller guarantees exclusive, final access; the block was made by `create`
    // with this layout, and its live table (the one field that owns memory) is dropped first.
    unsafe {
        core::ptr::drop_in_place(core::ptr::addr_of_mut!(
            (*SpinLock::value_ptr(block.as_ptr())).live
        ));
        System.dealloc(block.as_ptr().cast(), Layout::new::<ThreadHeap>());
    }
}

/// Entries in a thread's point cache (two ways per set).
const CACHE_ENTRIES: usize = 1024;

/// One remembered frame list. `key` 0 marks an empty entry.
#[derive(Clone, Copy)]
struct CacheEntry {
    key: u64,
    /// The point's frames in the session's frame arena (see `arena.rs`); null when empty.
    frames_at: *const usize,
    len: usize,
    point: u32,
}

/// Frame list → program point, for the points this thread met in the current session.
///
/// A hit saves the session lock, the full hash and the shared index: the key mixes only the
/// length and the innermost four frames, and identity is settled by comparing the whole list
/// with the point's own frames, so a collision costs a miss, never a wrong point. Valid as
/// all zeroes (empty).
pub(crate) struct PointCache {
    entries: [CacheEntry; CACHE_ENTRIES],
}

// SAFETY: the entries point into a session's frame arena, whose lists are never written
// again; the cache is only used by its thread or under that thread's lock.
unsafe impl Send for PointCache {}

impl PointCache {
    /// The key for `frames`; never 0.
    #[inline]
    pub(crate) fn key(frames: &[usize]) -> u64 {
        let mut key = frames.len() as u64;
        for &frame in frames.iter().take(4) {
            key = (key.rotate_left(7) ^ frame as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        key | 1
    }

    fn set(key: u64) -> usize {
        ((key >> 32) as usize % CACHE_ENTRIES) & !1
    }

    /// The point for `frames`, if this thread has met it in the current session.
    #[inline]
    pub(crate) fn find(&self, frames: &[usize], key: u64) -> Option<u32> {
        let set = Self::set(key);
        self.entries[set..set + 2].iter().find_map(|entry| {
            if entry.key != key || entry.len != frames.len() {
                return None;
            }
            // SAFETY: entries are made only from points of the current session, whose frame
            // arena keeps `len` frames at `frames_at` until the session ends; the cache is
            // emptied (`clear`) before its thread records for another session.
            let stored = unsafe { core::slice::from_raw_parts(entry.frames_at, entry.len) };
            (stored == frames).then_some(entry.point)
        })
    }

    /// Remembers `point` for frames stored at `frames_at` (`len` of them), evicting the older
    /// entry of its set.
    pub(crate) fn insert(&mut self, key: u64, frames_at: *const usize, len: usize, point: u32) {
        let set = Self::set(key);
        self.entries[set + 1] = self.entries[set];
        self.entries[set] = CacheEntry {
            key,
            frames_at,
            len,
            point,
        };
    }

    pub(crate) fn clear(&mut self) {
        for entry in &mut self.entries {
            entry.key = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_cache() -> Box<PointCache> {
        // SAFETY: `PointCache` is valid as all zeroes (every entry empty).
        unsafe { Box::new(core::mem::zeroed()) }
    }

    #[test]
    fn finds_only_identical_frame_lists() {
        let mut cache = empty_cache();
        let first = [1usize, 2, 3, 4, 5];
        let same_start = [1usize, 2, 3, 4, 6];
        let key = PointCache::key(&first);
        assert_eq!(
            key,
            PointCache::key(&same_start),
            "the key reads four frames"
        );
        cache.insert(key, first.as_ptr(), first.len(), 7);
        assert_eq!(cache.find(&first, key), Some(7));
        assert_eq!(cache.find(&same_start, key), None);
        assert_eq!(cache.find(&first[..4], PointCache::key(&first[..4])), None);
        cache.insert(key, same_start.as_ptr(), same_start.len(), 8);
        assert_eq!(cache.find(&first, key), Some(7), "two ways per set");
        assert_eq!(cache.find(&same_start, key), Some(8));
        cache.clear();
        assert_eq!(cache.find(&first, key), None);
    }

    #[test]
    fn a_new_session_forgets_the_old_contents() {
        let block = create().unwrap();
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
