//! The frame-pointer walk, on every target but Windows: the registers that start it (one
//! architecture dispatch point), the calling thread's stack bounds that every read is
//! checked against, and the walk itself over the live stack (the pure core is `chain.rs`).
//! See the parent module for how the walk works and what it checks.

use core::cell::Cell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};

use super::chain::{walk_chain, LiveStack, StackRange};
use super::{DEFAULT_FRAMES, MAX_FRAMES};

#[cfg(target_arch = "x86_64")]
#[path = "x86_64.rs"]
mod arch;

#[cfg(target_arch = "aarch64")]
#[path = "aarch64.rs"]
mod arch;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod arch {
    //! Architectures without a walker: no registers are read and nothing is captured.

    /// No frame pointer: a zero frame pointer ends every walk before it reads anything.
    #[inline(always)]
    pub(super) fn frame_and_stack_pointer() -> (usize, usize) {
        (0, 0)
    }

    #[inline(always)]
    pub(super) fn clean_return_address(address: usize) -> usize {
        address
    }
}

/// Walks from the frame of the function this is inlined into, dropping leading return
/// addresses for which `skip_leading` says `true`.
#[inline(always)]
pub(super) fn walk_from_here(
    frames: &mut [MaybeUninit<usize>],
    skip_leading: impl FnMut(usize) -> bool,
) -> usize {
    let (fp, sp) = arch::frame_and_stack_pointer();
    if fp == 0 {
        return 0;
    }
    // 0 when the stack is not known: a range with no room for a record, which ends the walk
    // before it reads anything.
    let high = stack_top_above(sp);
    let range = StackRange { low: sp, high };
    let clean = arch::clean_return_address;
    // At the default depth the buffer's length is made a constant, so the compiler unrolls
    // the walk's loop (no counter, no register shuffling between steps) and drops the
    // length checks: most captures are default-depth ones.
    if frames.len() == DEFAULT_FRAMES {
        let frames = &mut frames[..DEFAULT_FRAMES];
        return walk_chain(&LiveStack, range, fp, skip_leading, clean, frames);
    }
    let depth = frames.len().min(MAX_FRAMES);
    walk_chain(
        &LiveStack,
        range,
        fp,
        skip_leading,
        clean,
        &mut frames[..depth],
    )
}

/// This thread's cached stack bounds and how they were obtained.
struct StackCache {
    low: Cell<usize>,
    high: Cell<usize>,
    state: Cell<CacheState>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CacheState {
    /// Not asked yet.
    Unknown,
    /// Asked once.
    Known,
    /// Asked twice because the stack pointer was outside the first answer: no more asking.
    Requeried,
    /// The system could not say: no walks on this thread.
    Unavailable,
}

thread_local! {
    static STACK: StackCache = const {
        StackCache {
            low: Cell::new(0),
            high: Cell::new(0),
            state: Cell::new(CacheState::Unknown),
        }
    };
}

/// Set once any walk met a stack outside its thread's known stack.
static FOREIGN_STACK_SEEN: AtomicBool = AtomicBool::new(false);

/// Set once the system could not give some thread's stack bounds.
static STACK_BOUNDS_UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// The top of the stack `sp` is on if it is this thread's known stack, else 0.
#[inline(always)]
fn stack_top_above(sp: usize) -> usize {
    STACK
        .try_with(|cache| {
            let (low, high) = (cache.low.get(), cache.high.get());
            if low <= sp && sp < high {
                high
            } else {
                stack_top_slow(cache, sp).unwrap_or(0)
            }
        })
        .unwrap_or(0)
}

/// First use on this thread, or a stack pointer outside the cached range.
#[cold]
#[inline(never)]
fn stack_top_slow(cache: &StackCache, sp: usize) -> Option<usize> {
    let next = match cache.state.get() {
        CacheState::Unknown => CacheState::Known,
        CacheState::Known => CacheState::Requeried,
        CacheState::Requeried => {
            note_foreign_stack();
            return None;
        }
        CacheState::Unavailable => return None,
    };
    let Some((low, high)) = crate::sys::thread_stack_bounds() else {
        cache.state.set(CacheState::Unavailable);
        if !STACK_BOUNDS_UNAVAILABLE.load(Ordering::Relaxed) {
            STACK_BOUNDS_UNAVAILABLE.store(true, Ordering::Relaxed);
        }
        return None;
    };
    cache.low.set(low);
    cache.high.set(high);
    cache.state.set(next);
    if low <= sp && sp < high {
        Some(high)
    } else {
        note_foreign_stack();
        None
    }
}

fn note_foreign_stack() {
    if !FOREIGN_STACK_SEEN.load(Ordering::Relaxed) {
        FOREIGN_STACK_SEEN.store(true, Ordering::Relaxed);
    }
}

/// Whether any walk ran on a stack the walker could not bound (a signal handler's alternate
/// stack, a coroutine's stack): those walks captured nothing.
pub(crate) fn foreign_stack_seen() -> bool {
    FOREIGN_STACK_SEEN.load(Ordering::Relaxed)
}

/// Whether the system could not give some thread's stack bounds, so every walk on that
/// thread captured nothing (see the module docs). The frame pointers may be fine: a report
/// should say the stack could not be bounded, not that they look missing.
pub(crate) fn stack_bounds_unavailable() -> bool {
    STACK_BOUNDS_UNAVAILABLE.load(Ordering::Relaxed)
}

/// Whether the system could not give the calling thread's stack bounds.
pub(super) fn this_thread_has_no_stack_bounds() -> bool {
    STACK
        .try_with(|cache| cache.state.get() == CacheState::Unavailable)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread whose stack bounds the system cannot give walks nothing; the self-test must
    /// not blame the frame pointers for it, nor call the thread's stack a foreign one.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[test]
    fn without_stack_bounds_the_self_test_blames_nothing() {
        std::thread::spawn(|| {
            // What `stack_top_slow` records when `sys::thread_stack_bounds` says `None`.
            STACK.with(|cache| cache.state.set(CacheState::Unavailable));
            let foreign_before = foreign_stack_seen();
            assert_eq!(
                super::super::self_test_outcome(),
                super::super::SELF_TEST_NO_BOUNDS
            );
            assert_eq!(
                super::super::self_test_outcome(),
                super::super::SELF_TEST_NO_BOUNDS,
                "and on a second walk"
            );
            assert_eq!(foreign_stack_seen(), foreign_before, "not a foreign stack");
        })
        .join()
        .expect("test thread");
        // The same walk on a thread with known bounds passes (frame pointers are forced in
        // this crate's tests) or fails, but never claims missing bounds.
        let with_bounds = std::thread::spawn(super::super::self_test_outcome)
            .join()
            .expect("thread");
        assert_ne!(with_bounds, super::super::SELF_TEST_NO_BOUNDS);
    }
}
