//! Tier 1: allocation counts, bytes, live heap and peak.
//!
//! # Accounting rules
//!
//! Only calls that succeed are counted; a null from the inner allocator records nothing.
//!
//! | call | `alloc_count` | `realloc_count` | `dealloc_count` | `total_bytes` | `freed_bytes` |
//! |---|---|---|---|---|---|
//! | `alloc`, `alloc_zeroed` of `n` | +1 | | | +n | |
//! | `realloc` from `old` to `new` | | +1 | | +new | +old |
//! | `dealloc` of `n` | | | +1 | | +n |
//!
//! A reallocation therefore counts as a release of the old block and a new block of the full
//! new size, the same rule dhat uses for its totals; the live heap moves by `new - old` and the
//! number of live blocks does not change. Sizes are the requested `Layout` sizes, never the
//! allocator's usable size.
//!
//! # Where the numbers live, and when they are exact
//!
//! - Counts and bytes are kept per thread, in a [`slots::Slot`] that only its thread writes,
//!   and the thread's running net in its thread-local state ([`net`]): no locked instruction
//!   and no shared cache line on the hot path. Reading the totals sums every slot. Each
//!   figure is exact once the threads that allocate are quiet; while they run, each counter
//!   is current but the set is not a single instant.
//! - A thread's own figures ([`crate::ThreadProfiler`]) are exact at every instant.
//! - The global peak comes from [`peak`]: exact for the thread that reads the window, and
//!   otherwise off, either way, by at most each other live thread's unpublished change, up
//!   to 64 KiB.

pub(crate) mod net;
pub(crate) mod padded;
pub(crate) mod peak;
pub(crate) mod slots;

use slots::Counts;

/// Figures for a measurement window, or for the whole process.
///
/// For a window ([`crate::Profiler`], [`crate::ThreadProfiler`]) every figure covers only the
/// allocator calls made inside it; for [`stats`] the window is the life of the process.
///
/// `net_bytes` and `net_blocks` are the change in the live heap over the window. They can be
/// negative: a window that frees blocks allocated before it started shrinks the heap.
/// `peak_bytes` is the highest the live heap rose *above its level at the window's start*.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct AllocStats {
    /// Successful `alloc` and `alloc_zeroed` calls.
    pub alloc_count: u64,
    /// Successful `realloc` calls.
    pub realloc_count: u64,
    /// `dealloc` calls.
    pub dealloc_count: u64,
    /// Bytes requested by allocations, plus the full new size of each reallocation.
    pub total_bytes: u64,
    /// Bytes released by deallocations, plus the old size of each reallocation.
    pub freed_bytes: u64,
    /// Change in live bytes: `total_bytes - freed_bytes`.
    pub net_bytes: i64,
    /// Change in live blocks: `alloc_count - dealloc_count`.
    pub net_blocks: i64,
    /// Highest rise of live bytes above the level at the start of the window.
    pub peak_bytes: u64,
}

impl AllocStats {
    pub(crate) fn from_counts(counts: Counts, peak_bytes: i64) -> AllocStats {
        let net_bytes = counts.bytes_allocated.wrapping_sub(counts.bytes_freed) as i64;
        AllocStats {
            alloc_count: counts.allocs,
            realloc_count: counts.reallocs,
            dealloc_count: counts.deallocs,
            total_bytes: counts.bytes_allocated,
            freed_bytes: counts.bytes_freed,
            net_bytes,
            net_blocks: counts.allocs.wrapping_sub(counts.deallocs) as i64,
            // The peak can never be below where the window ended, nor above everything the
            // window allocated (other threads' unpublished changes can move the level a
            // thread's rise is measured from; see the crate docs).
            peak_bytes: peak_bytes
                .min(counts.bytes_allocated.min(i64::MAX as u64) as i64)
                .max(net_bytes)
                .max(0) as u64,
        }
    }
}

/// Process-wide figures since the allocator was installed.
///
/// `net_bytes` and `net_blocks` are then the live heap itself, and `peak_bytes` the highest it
/// has been. Everything is zero if [`crate::ModAlloc`] is not the global allocator.
///
/// ```
/// let stats = mod_alloc::stats();
/// assert!(stats.total_bytes >= stats.freed_bytes);
/// ```
pub fn stats() -> AllocStats {
    crate::thread_state::publish_pending();
    AllocStats::from_counts(slots::sum(), peak::lifetime_peak())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(allocated: u64, freed: u64, peak: i64) -> AllocStats {
        let counts = Counts {
            allocs: 3,
            reallocs: 1,
            deallocs: 2,
            bytes_allocated: allocated,
            bytes_freed: freed,
        };
        AllocStats::from_counts(counts, peak)
    }

    /// The peak read from a register can lag the window's own figures (another thread's
    /// unpublished change moved the level it is measured from); the reported peak is then
    /// kept between where the window ended and everything it allocated.
    #[test]
    fn the_peak_is_kept_between_the_end_level_and_the_bytes_allocated() {
        let s = window(1_000, 200, 300);
        assert_eq!((s.net_bytes, s.net_blocks, s.peak_bytes), (800, 1, 800));
        assert_eq!(window(1_000, 200, 5_000).peak_bytes, 1_000);
        assert_eq!(window(1_000, 200, 900).peak_bytes, 900);
        // A window that shrank the heap and a register below zero: no peak above the start.
        assert_eq!(window(100, 400, -50).peak_bytes, 0);
        let s = window(100, 400, 60);
        assert_eq!((s.net_bytes, s.peak_bytes), (-300, 60));
    }
}
