//! Windows backend: thread-exit notification through a fiber-local-storage callback, and
//! (with `symbolicate`) read-only file mappings.
//!
//! `FlsAlloc` callbacks run when a thread (or fiber) that set the slot ends. `std` links
//! `kernel32` already, so the few functions needed are declared here by hand.

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
#[cfg(feature = "backtraces")]
pub(crate) fn register_fork_handlers(
    _before: unsafe extern "C" fn(),
    _after: unsafe extern "C" fn(),
) -> bool {
    true
}

#[cfg(feature = "symbolicate")]
mod file_map {
    use core::ffi::c_void;
    use core::ptr::NonNull;
    use std::os::windows::io::AsRawHandle;

    const PAGE_READONLY: u32 = 0x02;
    const FILE_MAP_READ: u32 = 0x0004;

    #[link(name = "kernel32")]
    extern "system" {
        fn CreateFileMappingW(
            file: *mut c_void,
            attributes: *const c_void,
            protection: u32,
            maximum_size_high: u32,
            maximum_size_low: u32,
            name: *const u16,
        ) -> *mut c_void;
        fn MapViewOfFile(
            mapping: *mut c_void,
            desired_access: u32,
            offset_high: u32,
            offset_low: u32,
            bytes: usize,
        ) -> *mut c_void;
        fn UnmapViewOfFile(base: *const c_void) -> i32;
        fn CloseHandle(handle: *mut c_void) -> i32;
    }

    /// Maps the first `len` bytes of `file` read-only. `None` if the system refuses (an
    /// empty file cannot be mapped on Windows).
    pub(crate) fn map_file(file: &std::fs::File, len: usize) -> Option<NonNull<u8>> {
        if len == 0 {
            return None;
        }
        // SAFETY: `file` is an open handle for the duration of the call; a size of 0/0 means
        // "the file's current size", and no name or security attributes are given.
        let mapping = unsafe {
            CreateFileMappingW(
                file.as_raw_handle(),
                core::ptr::null(),
                PAGE_READONLY,
                0,
                0,
                core::ptr::null(),
            )
        };
        if mapping.is_null() {
            return None;
        }
        // SAFETY: `mapping` is the read-only section object created above; the view covers
        // `len` bytes from offset 0, which the file (the section's size) holds.
        let base = unsafe { MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, len) };
        // The view keeps the section alive on its own, so the handle is closed either way.
        // SAFETY: `mapping` is a handle this function owns and closes exactly once.
        let _ = unsafe { CloseHandle(mapping) };
        NonNull::new(base.cast())
    }

    /// Unmaps a view made by [`map_file`].
    ///
    /// # Safety
    ///
    /// `base` must come from one successful `map_file` call, not yet unmapped, and no
    /// reference into the view may be used afterwards.
    pub(crate) unsafe fn unmap_file(base: NonNull<u8>, _len: usize) {
        // SAFETY: the caller guarantees this is a live view that nothing reads any more. A
        // failure could only leave it mapped, which is harmless.
        let _ = unsafe { UnmapViewOfFile(base.as_ptr().cast_const().cast()) };
    }
}

#[cfg(feature = "symbolicate")]
pub(crate) use file_map::{map_file, unmap_file};
