//! The atomics the call-site table is built from.
//!
//! Normal builds use `core`'s. Under `--cfg mod_alloc_loom` the crate's own unit tests swap
//! in `loom`'s, so the model checker can explore every interleaving of the claim/publish
//! protocol in [`super::table`](mod@super::table). Only the table's own types use these; the process-wide
//! statics in [`super`] need `const` constructors and stay on `core`.

#[cfg(not(all(mod_alloc_loom, test)))]
pub(crate) use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};

#[cfg(all(mod_alloc_loom, test))]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};

/// Whether all-zero bytes are a valid value of every type above, so that fresh table memory
/// can come from `alloc_zeroed` (lazily zeroed pages) instead of being written slot by slot.
/// Loom's atomics carry model state and must be constructed.
pub(crate) const ZEROED_IS_VALID: bool = cfg!(not(all(mod_alloc_loom, test)));

/// Waits a moment for another thread; `round` counts the calls so far in this wait. The
/// first rounds spin on the CPU; later ones yield to the OS scheduler (no allocation), so a
/// claimer that was preempted gets the CPU back on a machine with few cores.
#[inline]
pub(crate) fn spin_wait(round: u32) {
    #[cfg(not(all(mod_alloc_loom, test)))]
    if round < 64 {
        core::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
    #[cfg(all(mod_alloc_loom, test))]
    {
        let _ = round;
        loom::thread::yield_now();
    }
}

/// Nothing in normal builds. Under loom, a `SeqCst` fence. Loom treats `SeqCst` loads,
/// stores and read-modify-writes as acquire/release only and models the single total order
/// through fences alone, so where the real code relies on a store (or read-modify-write)
/// followed by a load, both `SeqCst`, never being reordered (see `Slot::add_if_site_of`),
/// the model gets the same guarantee from a fence between them.
#[inline(always)]
pub(crate) fn seq_cst_fence_for_loom() {
    #[cfg(all(mod_alloc_loom, test))]
    loom::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
}
