//! Linux and Android backend for the calling thread's stack bounds.
//!
//! `pthread_getattr_np` reports the stack of any thread, the main thread included. It is not
//! free: on glibc's main thread it opens and parses `/proc/self/maps` (about 40 µs), and on
//! every thread it allocates a CPU-set buffer through the C library's `malloc`, never through
//! the Rust global allocator. The walker therefore asks once per thread and caches the answer
//! (see `crate::walk`).

use core::ffi::{c_int, c_void};

/// `pthread_t` is an `unsigned long` on glibc and a pointer on musl and bionic: one word.
type PthreadT = usize;

/// `pthread_attr_t` is opaque here: 56 bytes on x86_64 glibc, 64 on aarch64 glibc, smaller
/// on musl. A 128-byte, 16-byte-aligned buffer is large and aligned enough for all of them.
#[repr(C, align(16))]
struct PthreadAttr([u8; 128]);

extern "C" {
    fn pthread_self() -> PthreadT;
    fn pthread_getattr_np(thread: PthreadT, attr: *mut PthreadAttr) -> c_int;
    fn pthread_attr_getstack(
        attr: *const PthreadAttr,
        stack_addr: *mut *mut c_void,
        stack_size: *mut usize,
    ) -> c_int;
    fn pthread_attr_destroy(attr: *mut PthreadAttr) -> c_int;
}

/// The calling thread's stack as `(lowest address, one past the highest)`, or `None` if the
/// C library cannot say.
pub(crate) fn thread_stack_bounds() -> Option<(usize, usize)> {
    let mut attr = PthreadAttr([0; 128]);
    // SAFETY: `attr` is writable, suitably sized and aligned storage for a `pthread_attr_t`;
    // `pthread_self()` is the calling thread, which is alive.
    if unsafe { pthread_getattr_np(pthread_self(), &mut attr) } != 0 {
        return None;
    }
    let mut stack_addr: *mut c_void = core::ptr::null_mut();
    let mut stack_size: usize = 0;
    // SAFETY: `attr` was initialised by the successful `pthread_getattr_np` above and the two
    // out-pointers are valid.
    let got = unsafe { pthread_attr_getstack(&attr, &mut stack_addr, &mut stack_size) } == 0;
    // SAFETY: `attr` was initialised above and is destroyed exactly once.
    unsafe { pthread_attr_destroy(&mut attr) };
    let low = stack_addr as usize;
    let high = low.checked_add(stack_size)?;
    (got && low != 0 && stack_size != 0).then_some((low, high))
}
