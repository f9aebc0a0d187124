//! Storage for program points' frame lists that never moves.
//!
//! Threads compare a fresh capture with a point's frames from their own cache (see
//! `thread.rs`) without the session lock, so a frame list must stay where it was written for
//! the whole session, which a growing array cannot promise. Lists are appended to chunks from
//! [`System`]; a full chunk is left as it is and a new one started. Nothing is freed before
//! the session ends, and a list is never written again after it is stored.

use core::ptr::NonNull;
use std::alloc::{GlobalAlloc, Layout, System};

use super::sysvec::SysVec;

/// Frames per chunk: 32 KiB, far more than one list (at most `walk::MAX_FRAMES`).
const CHUNK_FRAMES: usize = 4096;

/// A frame list stored in a [`FrameArena`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct StoredFrames {
    start: NonNull<usize>,
    len: usize,
}

// SAFETY: a pointer to frames that are never written again; reading them from any thread is
// as safe as reading a `&[usize]`, for as long as the arena lives (see `get`).
unsafe impl Send for StoredFrames {}
// SAFETY: as above.
unsafe impl Sync for StoredFrames {}

impl Default for StoredFrames {
    fn default() -> Self {
        StoredFrames {
            start: NonNull::dangling(),
            len: 0,
        }
    }
}

impl StoredFrames {
    /// The frames.
    ///
    /// # Safety
    ///
    /// The arena that stored them must still be alive for `'a`.
    pub(crate) unsafe fn get<'a>(self) -> &'a [usize] {
        // SAFETY: `store` wrote `len` frames at `start` and never writes them again; the caller
        // guarantees the arena (which owns the chunk) outlives `'a`.
        unsafe { core::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }
}

pub(crate) struct FrameArena {
    /// Start of each chunk.
    chunks: SysVec<Chunk>,
    /// Frames used in the last chunk.
    used: usize,
}

impl FrameArena {
    pub(crate) const fn new() -> Self {
        FrameArena {
            chunks: SysVec::new(),
            used: CHUNK_FRAMES,
        }
    }

    /// Stores `frames` and returns where; `None` if memory ran out or the list cannot fit in
    /// a chunk.
    pub(crate) fn store(&mut self, frames: &[usize]) -> Option<StoredFrames> {
        if frames.is_empty() {
            return Some(StoredFrames::default());
        }
        if frames.len() > CHUNK_FRAMES {
            return None;
        }
        if self.used + frames.len() > CHUNK_FRAMES {
            // SAFETY: the layout has a non-zero size.
            let chunk = unsafe { System.alloc(chunk_layout()) };
            let chunk = NonNull::new(chunk.cast::<usize>())?;
            if !self.chunks.push(Chunk(chunk)) {
                // SAFETY: just allocated with this layout, and not recorded anywhere.
                unsafe { System.dealloc(chunk.as_ptr().cast(), chunk_layout()) };
                return None;
            }
            self.used = 0;
        }
        let last = self.chunks.as_slice().last()?.0.as_ptr();
        // SAFETY: `used + frames.len() <= CHUNK_FRAMES`, so the copy stays in the chunk, and
        // that part of the chunk has never been handed out.
        let start = unsafe {
            let start = last.add(self.used);
            core::ptr::copy_nonoverlapping(frames.as_ptr(), start, frames.len());
            start
        };
        self.used += frames.len();
        Some(StoredFrames {
            start: NonNull::new(start)?,
            len: frames.len(),
        })
    }
}

impl Drop for FrameArena {
    fn drop(&mut self) {
        for chunk in self.chunks.as_slice() {
            // SAFETY: every recorded chunk came from `System` with this layout.
            unsafe { System.dealloc(chunk.0.as_ptr().cast(), chunk_layout()) };
        }
    }
}

/// One chunk's start.
#[derive(Clone, Copy)]
struct Chunk(NonNull<usize>);

// SAFETY: the arena owns its chunks exclusively; sending the arena sends them.
unsafe impl Send for Chunk {}

fn chunk_layout() -> Layout {
    // Cannot fail: a few KiB of `usize`.
    Layout::array::<usize>(CHUNK_FRAMES).unwrap_or(Layout::new::<usize>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_lists_stay_put_across_chunks() {
        let mut arena = FrameArena::new();
        let mut stored = Vec::new();
        for i in 0..2_000usize {
            let frames: Vec<usize> = (0..i % 65).map(|k| i * 100 + k).collect();
            let at = arena.store(&frames).unwrap();
            stored.push((at, frames));
        }
        assert!(arena.chunks.len() > 1, "the test must cross chunks");
        for (at, frames) in &stored {
            // SAFETY: the arena is alive.
            let read = unsafe { at.get() };
            assert_eq!(read, &frames[..]);
        }
    }
}
