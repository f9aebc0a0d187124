//! Windows backend: thread-exit notification through a fiber-local-storage callback.
//!
//! `FlsAlloc` callbacks run when a thread (or fiber) that set the slot ends. `std` links
//! `kernel32` already, so the two functions are declared here by hand.

use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::ThreadExitFn;

const FLS_OUT_OF_INDEXES: u32 = u32::MAX;

#[link(name = "kernel32")]
extern "system" {
    fn FlsAlloc(callback: Option<unsafe extern "system" fn(*mut c_void)>) -> u32;
    fn FlsSetValue(index: u32, value: *const c_void) -> i32;
}

/// `UNSET` before the first registration, `FAILED` if no index was available, otherwise the
/// index plus one.
static INDEX: AtomicUsize = AtomicUsize::new(UNSET);
const UNSET: usize = 0;
const FAILED: usize = usize::MAX;

static CALLBACK: AtomicUsize = AtomicUsize::new(0);

unsafe extern "system" fn run_callback(value: *mut c_void) {
    let raw = CALLBACK.load(Ordering::Acquire);
    if raw != 0 && !value.is_null() {
        // SAFETY: `raw` was stored from a `ThreadExitFn`; function pointers fit in `usize`.
        let callback: ThreadExitFn = unsafe { core::mem::transmute::<usize, ThreadExitFn>(raw) };
        callback(value.cast());
    }
}

fn index() -> Option<u32> {
    match INDEX.load(Ordering::Acquire) {
        FAILED => None,
        UNSET => {
            // SAFETY: `run_callback` matches the `PFLS_CALLBACK_FUNCTION` ABI.
            let index = unsafe { FlsAlloc(Some(run_callback)) };
            let encoded = if index == FLS_OUT_OF_INDEXES {
                FAILED
            } else {
                index as usize + 1
            };
            match INDEX.compare_exchange(UNSET, encoded, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => (encoded != FAILED).then_some(index),
                Err(FAILED) => None,
                Err(winner) => Some((winner - 1) as u32),
            }
        }
        encoded => Some((encoded - 1) as u32),
    }
}

/// Arranges for `callback(value)` to run when the calling thread exits; `false` if refused.
pub(crate) fn register_thread_exit(callback: ThreadExitFn, value: *mut u8) -> bool {
    CALLBACK.store(callback as usize, Ordering::Release);
    let Some(index) = index() else { return false };
    // SAFETY: `index` came from a successful `FlsAlloc`.
    unsafe { FlsSetValue(index, value.cast_const().cast()) != 0 }
}

/// Windows has no `fork`: nothing to register.
#[cfg(feature = "dhat-compat")]
pub(crate) fn register_fork_handlers(
    _before: unsafe extern "C" fn(),
    _after: unsafe extern "C" fn(),
) -> bool {
    true
}
