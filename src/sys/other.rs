//! Fallback for targets that are neither Unix nor Windows (for example `wasm32`).
//!
//! There is no thread-exit notification, so a per-thread counter slot is never handed to a
//! later thread: each thread that allocates keeps one small slot for the life of the process.
//! Counts stay exact; only the slot memory is not reused.

use super::ThreadExitFn;

/// Always refuses: no notification is available on this target.
pub(crate) fn register_thread_exit(_callback: ThreadExitFn, _value: *mut u8) -> bool {
    false
}

/// No `fork` to prepare for on these targets.
#[cfg(feature = "backtraces")]
pub(crate) fn register_fork_handlers(
    _before: unsafe extern "C" fn(),
    _after: unsafe extern "C" fn(),
) -> bool {
    true
}

/// No file mapping here: always declines, and the caller reads the file instead.
#[cfg(feature = "symbolicate")]
pub(crate) fn map_file(_file: &std::fs::File, _len: usize) -> Option<core::ptr::NonNull<u8>> {
    None
}

/// Never called, as nothing is ever mapped here.
///
/// # Safety
///
/// None needed; kept `unsafe` to match the other backends.
#[cfg(feature = "symbolicate")]
pub(crate) unsafe fn unmap_file(_base: core::ptr::NonNull<u8>, _len: usize) {}
