//! POSIX backend: thread-exit notification through a `pthread_key_t` destructor.
//!
//! `std` already links the C library, so the few functions needed are declared here by hand
//! instead of pulling in the `libc` crate. Only the layout-stable parts of the API are used.

use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicUsize, Ordering};

use super::ThreadExitFn;

#[cfg(any(target_os = "macos", target_os = "ios"))]
type PthreadKey = core::ffi::c_ulong;
#[cfg(not(any(target_os = "macos", target_os = "ios")))]
type PthreadKey = core::ffi::c_uint;

extern "C" {
    fn pthread_key_create(
        key: *mut PthreadKey,
        destructor: Option<unsafe extern "C" fn(*mut c_void)>,
    ) -> c_int;
    fn pthread_setspecific(key: PthreadKey, value: *const c_void) -> c_int;
}

/// Key state: `UNSET` before the first registration, `FAILED` if the C library refused a key,
/// otherwise the key plus one.
static KEY: AtomicUsize = AtomicUsize::new(UNSET);
const UNSET: usize = 0;
const FAILED: usize = usize::MAX;

/// The callback, stored once. All registrations in this crate pass the same function.
static CALLBACK: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn run_callback(value: *mut c_void) {
    let raw = CALLBACK.load(Ordering::Acquire);
    if raw != 0 && !value.is_null() {
        // SAFETY: `raw` was stored from a `ThreadExitFn` in `register_thread_exit` and function
        // pointers round-trip through `usize` on every supported target.
        let callback: ThreadExitFn = unsafe { core::mem::transmute::<usize, ThreadExitFn>(raw) };
        callback(value.cast());
    }
}

fn key() -> Option<PthreadKey> {
    match KEY.load(Ordering::Acquire) {
        FAILED => None,
        UNSET => {
            let mut key: PthreadKey = 0;
            // SAFETY: `key` is a valid out-pointer and `run_callback` matches the destructor ABI.
            let created = unsafe { pthread_key_create(&mut key, Some(run_callback)) } == 0;
            let encoded = if created { key as usize + 1 } else { FAILED };
            // Two threads may race to create a key; the loser's key is simply never used
            // (keys are a small, per-process resource, and this happens at most once per race).
            match KEY.compare_exchange(UNSET, encoded, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => created.then_some(key),
                Err(FAILED) => None,
                Err(winner) => Some((winner - 1) as PthreadKey),
            }
        }
        encoded => Some((encoded - 1) as PthreadKey),
    }
}

/// Arranges for `callback(value)` to run when the calling thread exits. Returns `false` if
/// the platform refused, in which case the caller must cope without the notification.
///
/// It may allocate through the C library's `malloc` (glibc does for keys past the first 32),
/// never through the Rust global allocator, so it is safe to call from inside one.
pub(crate) fn register_thread_exit(callback: ThreadExitFn, value: *mut u8) -> bool {
    CALLBACK.store(callback as usize, Ordering::Release);
    let Some(key) = key() else { return false };
    // SAFETY: `key` came from a successful `pthread_key_create`.
    unsafe { pthread_setspecific(key, value.cast_const().cast()) == 0 }
}

#[cfg(feature = "dhat-compat")]
extern "C" {
    fn pthread_atfork(
        prepare: Option<unsafe extern "C" fn()>,
        parent: Option<unsafe extern "C" fn()>,
        child: Option<unsafe extern "C" fn()>,
    ) -> c_int;
}

/// Runs `before` in the forking thread just before `fork()` and `after` in both the parent
/// and the child just after it, so a lock taken by `before` is never copied into the child
/// held by a thread that does not exist there. Returns `false` if the C library refused.
#[cfg(feature = "dhat-compat")]
pub(crate) fn register_fork_handlers(
    before: unsafe extern "C" fn(),
    after: unsafe extern "C" fn(),
) -> bool {
    // SAFETY: both handlers have the C ABI `pthread_atfork` expects and live forever.
    unsafe { pthread_atfork(Some(before), Some(after), Some(after)) == 0 }
}
