//! POSIX backend: thread-exit notification through a `pthread_key_t` destructor, and (with
//! `backtraces`) fork handlers through `pthread_atfork` and (with `symbolicate`) read-only
//! file mappings through `mmap`.
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

#[cfg(feature = "backtraces")]
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
#[cfg(feature = "backtraces")]
pub(crate) fn register_fork_handlers(
    before: unsafe extern "C" fn(),
    after: unsafe extern "C" fn(),
) -> bool {
    // SAFETY: both handlers have the C ABI `pthread_atfork` expects and live forever.
    unsafe { pthread_atfork(Some(before), Some(after), Some(after)) == 0 }
}

/// `mmap` takes an `off_t`, whose width varies on 32-bit targets (`long` on glibc, 64 bits
/// on musl and the BSDs), and declaring it wrong would misplace the argument. On every 64-bit
/// Unix it is 64 bits, so mapping is only declared there; elsewhere `map_file` declines and
/// the caller reads the file instead.
#[cfg(all(feature = "symbolicate", target_pointer_width = "64"))]
mod file_map {
    use core::ffi::{c_int, c_void};
    use core::ptr::NonNull;
    use std::os::unix::io::AsRawFd;

    /// The same on Linux (every architecture), the BSDs, macOS, Solaris and illumos.
    const PROT_READ: c_int = 0x1;
    const MAP_PRIVATE: c_int = 0x2;

    extern "C" {
        fn mmap(
            address: *mut c_void,
            length: usize,
            protection: c_int,
            flags: c_int,
            fd: c_int,
            offset: i64,
        ) -> *mut c_void;
        fn munmap(address: *mut c_void, length: usize) -> c_int;
    }

    /// Maps the first `len` bytes of `file` read-only and private. `None` if the system
    /// refuses (for example a file system that cannot map, or `len == 0`).
    pub(crate) fn map_file(file: &std::fs::File, len: usize) -> Option<NonNull<u8>> {
        if len == 0 {
            return None;
        }
        // SAFETY: a fresh mapping chosen by the kernel (null hint), read-only and private, of
        // a descriptor that is open for the duration of the call; nothing existing is touched.
        let base = unsafe {
            mmap(
                core::ptr::null_mut(),
                len,
                PROT_READ,
                MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        // `MAP_FAILED` is `(void *)-1`.
        if base as usize == usize::MAX {
            return None;
        }
        NonNull::new(base.cast())
    }

    /// Unmaps a mapping made by [`map_file`].
    ///
    /// # Safety
    ///
    /// `base` and `len` must come from one successful `map_file` call, not yet unmapped, and
    /// no reference into the mapping may be used afterwards.
    pub(crate) unsafe fn unmap_file(base: NonNull<u8>, len: usize) {
        // SAFETY: the caller guarantees this is a live mapping of exactly `len` bytes that
        // nothing reads any more. A failure could only leave it mapped, which is harmless.
        let _ = unsafe { munmap(base.as_ptr().cast(), len) };
    }
}

#[cfg(all(feature = "symbolicate", not(target_pointer_width = "64")))]
mod file_map {
    use core::ptr::NonNull;

    /// Declines: see the note on the 64-bit version. The caller reads the file instead.
    pub(crate) fn map_file(_file: &std::fs::File, _len: usize) -> Option<NonNull<u8>> {
        None
    }

    /// Never called, as nothing is ever mapped here.
    ///
    /// # Safety
    ///
    /// None needed; kept `unsafe` to match the other backends.
    pub(crate) unsafe fn unmap_file(_base: NonNull<u8>, _len: usize) {}
}

#[cfg(feature = "symbolicate")]
pub(crate) use file_map::{map_file, unmap_file};
