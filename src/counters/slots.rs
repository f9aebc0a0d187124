//! Per-thread counter slots.
//!
//! Every thread that allocates owns one [`Slot`]: five monotone counters on cache lines of
//! their own. Only the owner writes them, with a plain load and store (no locked instruction);
//! anyone may read them. Summing all slots gives the process-wide figures.
//!
//! Slots live in a lock-free, grow-only linked list and are never freed. When a thread exits,
//! its slot is marked free and the next new thread adopts it *with its counts*: the counters
//! are sums, so it does not matter which thread added what. The `Release` store that frees a
//! slot and the `Acquire` exchange that adopts it order the old owner's last writes before the
//! new owner's first, so the single-writer rule holds across owners.
//!
//! Slot memory comes straight from [`System`], never from the global allocator, so acquiring a
//! slot inside an allocator call cannot recurse.

use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::alloc::{GlobalAlloc, Layout, System};

use super::padded::CachePadded;

/// Monotone event counters. All loads and stores are `Relaxed`: each counter is an
/// independent statistic, and cross-thread ordering comes from slot hand-over (see above).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) allocs: AtomicU64,
    pub(crate) reallocs: AtomicU64,
    pub(crate) deallocs: AtomicU64,
    pub(crate) bytes_allocated: AtomicU64,
    pub(crate) bytes_freed: AtomicU64,
}

/// A plain copy of [`Counters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) allocs: u64,
    pub(crate) reallocs: u64,
    pub(crate) deallocs: u64,
    pub(crate) bytes_allocated: u64,
    pub(crate) bytes_freed: u64,
}

impl Counts {
    pub(crate) fn wrapping_add(self, other: Counts) -> Counts {
        Counts {
            allocs: self.allocs.wrapping_add(other.allocs),
            reallocs: self.reallocs.wrapping_add(other.reallocs),
            deallocs: self.deallocs.wrapping_add(other.deallocs),
            bytes_allocated: self.bytes_allocated.wrapping_add(other.bytes_allocated),
            bytes_freed: self.bytes_freed.wrapping_add(other.bytes_freed),
        }
    }

    pub(crate) fn wrapping_sub(self, other: Counts) -> Counts {
        Counts {
            allocs: self.allocs.wrapping_sub(other.allocs),
            reallocs: self.reallocs.wrapping_sub(other.reallocs),
            deallocs: self.deallocs.wrapping_sub(other.deallocs),
            bytes_allocated: self.bytes_allocated.wrapping_sub(other.bytes_allocated),
            bytes_freed: self.bytes_freed.wrapping_sub(other.bytes_freed),
        }
    }
}

/// Adds `n` to a counter that only the calling thread writes.
#[inline(always)]
fn bump_owned(counter: &AtomicU64, n: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

impl Counters {
    pub(crate) const fn new() -> Self {
        Counters {
            allocs: AtomicU64::new(0),
            reallocs: AtomicU64::new(0),
            deallocs: AtomicU64::new(0),
            bytes_allocated: AtomicU64::new(0),
            bytes_freed: AtomicU64::new(0),
        }
    }

    pub(crate) fn load(&self) -> Counts {
        Counts {
            allocs: self.allocs.load(Ordering::Relaxed),
            reallocs: self.reallocs.load(Ordering::Relaxed),
            deallocs: self.deallocs.load(Ordering::Relaxed),
            bytes_allocated: self.bytes_allocated.load(Ordering::Relaxed),
            bytes_freed: self.bytes_freed.load(Ordering::Relaxed),
        }
    }

    /// Records an allocation; the caller must be the only writer of these counters.
    #[inline(always)]
    pub(crate) fn owned_alloc(&self, size: u64) {
        bump_owned(&self.allocs, 1);
        bump_owned(&self.bytes_allocated, size);
    }

    /// Records a deallocation; the caller must be the only writer.
    #[inline(always)]
    pub(crate) fn owned_dealloc(&self, size: u64) {
        bump_owned(&self.deallocs, 1);
        bump_owned(&self.bytes_freed, size);
    }

    /// Records a reallocation; the caller must be the only writer.
    #[inline(always)]
    pub(crate) fn owned_realloc(&self, old_size: u64, new_size: u64) {
        bump_owned(&self.reallocs, 1);
        bump_owned(&self.bytes_allocated, new_size);
        bump_owned(&self.bytes_freed, old_size);
    }

    /// Adds `delta`; the caller must be the only writer.
    pub(crate) fn owned_add(&self, delta: Counts) {
        bump_owned(&self.allocs, delta.allocs);
        bump_owned(&self.reallocs, delta.reallocs);
        bump_owned(&self.deallocs, delta.deallocs);
        bump_owned(&self.bytes_allocated, delta.bytes_allocated);
        bump_owned(&self.bytes_freed, delta.bytes_freed);
    }

    /// Adds `delta` with atomic read-modify-writes, for counters any thread may write.
    pub(crate) fn shared_add(&self, delta: Counts) {
        self.allocs.fetch_add(delta.allocs, Ordering::Relaxed);
        self.reallocs.fetch_add(delta.reallocs, Ordering::Relaxed);
        self.deallocs.fetch_add(delta.deallocs, Ordering::Relaxed);
        self.bytes_allocated
            .fetch_add(delta.bytes_allocated, Ordering::Relaxed);
        self.bytes_freed
            .fetch_add(delta.bytes_freed, Ordering::Relaxed);
    }
}

/// One thread's counters, plus the bookkeeping that lets the slot outlive its thread.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) counters: Counters,
    in_use: AtomicBool,
    /// Set once, before the slot is published, and never changed.
    next: AtomicPtr<CachePadded<Slot>>,
}

/// Head of the grow-only slot list.
static HEAD: AtomicPtr<CachePadded<Slot>> = AtomicPtr::new(ptr::null_mut());

/// Counters for events that cannot use a slot: a thread whose slot was already handed back
/// during its own exit, or a failed slot allocation. Written with atomic RMWs.
pub(crate) static ORPHAN: CachePadded<Counters> = CachePadded(Counters::new());

fn slots() -> impl Iterator<Item = &'static Slot> {
    let mut cursor = HEAD.load(Ordering::Acquire);
    core::iter::from_fn(move || {
        // SAFETY: list nodes are never freed, and each was fully initialised before the
        // `Release` CAS that published it, which this `Acquire` chain synchronises with.
        let slot: &'static Slot = unsafe { cursor.as_ref() }?;
        cursor = slot.next.load(Ordering::Acquire);
        Some(slot)
    })
}

/// Takes a free slot, or makes a new one. Returns `None` only if memory is exhausted.
///
/// Cost is linear in the number of slots ever created; it runs once per thread.
pub(crate) fn acquire() -> Option<&'static Slot> {
    for slot in slots() {
        // `Acquire` on success pairs with the `Release` in `release`: the previous owner's
        // final counter writes happen before ours.
        if !slot.in_use.load(Ordering::Relaxed)
            && slot
                .in_use
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            return Some(slot);
        }
    }
    let layout = Layout::new::<CachePadded<Slot>>();
    // SAFETY: the layout has a non-zero size.
    let node = unsafe { System.alloc(layout) }.cast::<CachePadded<Slot>>();
    if node.is_null() {
        return None;
    }
    let fresh = CachePadded(Slot {
        counters: Counters::new(),
        in_use: AtomicBool::new(true),
        next: AtomicPtr::new(ptr::null_mut()),
    });
    // SAFETY: `node` is a fresh, suitably aligned allocation for this type.
    unsafe { node.write(fresh) };
    // SAFETY: `node` was initialised above and is ours until the CAS below publishes it; it is
    // never freed, so the reference lives as long as the process.
    let slot: &'static Slot = unsafe { &(*node).0 };
    let mut head = HEAD.load(Ordering::Relaxed);
    loop {
        slot.next.store(head, Ordering::Relaxed);
        // `Release` publishes the initialised node to readers that `Acquire` the list.
        match HEAD.compare_exchange_weak(head, node, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => break,
            Err(current) => head = current,
        }
    }
    Some(slot)
}

/// Hands a slot back for adoption by a later thread. The caller must not write it again.
pub(crate) fn release(slot: &Slot) {
    slot.in_use.store(false, Ordering::Release);
}

/// How many slots exist: at most the peak number of threads alive at once (plus slots kept
/// by threads whose exit could not be observed).
pub(crate) fn slot_count() -> usize {
    slots().count()
}

/// The sum of every slot and the orphan counters: process-wide totals. Exact once the
/// threads that allocate are quiet; while they run, each counter is individually current but
/// the set is not one instant's snapshot.
pub(crate) fn sum() -> Counts {
    slots().fold(ORPHAN.load(), |total, slot| {
        total.wrapping_add(slot.counters.load())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_slots_are_adopted_with_their_counts() {
        let slot = acquire().expect("slot");
        slot.counters.owned_alloc(40);
        let before = sum();
        release(slot);
        // Some slot is free now, so acquiring does not grow the list, and sums are unchanged.
        let adopted = acquire().expect("slot");
        assert_eq!(sum(), before);
        adopted.counters.owned_dealloc(40);
        let after = sum();
        assert_eq!(after.deallocs, before.deallocs + 1);
        assert_eq!(after.bytes_freed, before.bytes_freed + 40);
        release(adopted);
    }

    #[test]
    fn each_threads_slot_has_its_cache_lines_to_itself() {
        // Two threads' slots must never share the unit of false sharing (128 bytes on
        // x86_64 and aarch64): that is what lets the counters scale with threads.
        let line = if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
            128
        } else {
            64
        };
        assert_eq!(core::mem::align_of::<CachePadded<Slot>>(), line);
        assert_eq!(core::mem::size_of::<CachePadded<Slot>>() % line, 0);
        let (a, b) = (acquire().expect("slot"), acquire().expect("slot"));
        let (a_at, b_at) = (a as *const _ as usize, b as *const _ as usize);
        assert!(a_at.abs_diff(b_at) >= line, "{a_at:#x} and {b_at:#x}");
        release(a);
        release(b);
    }

    #[test]
    fn counts_subtract_back_to_zero() {
        let a = Counts {
            allocs: 3,
            reallocs: 1,
            deallocs: 2,
            bytes_allocated: 90,
            bytes_freed: 10,
        };
        assert_eq!(a.wrapping_add(a).wrapping_sub(a), a);
        assert_eq!(a.wrapping_sub(a), Counts::default());
    }
}
