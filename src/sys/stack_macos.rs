//! macOS and iOS backend for the calling thread's stack bounds.
//!
//! `pthread_get_stackaddr_np` returns the top (highest address) of a thread's stack and
//! `pthread_get_stacksize_np` its size; both read the thread structure and cost nanoseconds.

use core::ffi::c_void;

type PthreadT = *mut c_void;

extern "C" {
    fn pthread_self() -> PthreadT;
    fn pthread_get_stackaddr_np(thread: PthreadT) -> *mut c_void;
    fn pthread_get_stacksize_np(thread: PthreadT) -> usize;
}

/// The calling thread's stack as `(lowest address, one past the highest)`, or `None` if the
/// system cannot say.
pub(crate) fn thread_stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: `pthread_self()` is the calling thread, which is alive; both functions only
    // read its thread structure.
    let (top, size) = unsafe {
        let me = pthread_self();
        (
            pthread_get_stackaddr_np(me) as usize,
            pthread_get_stacksize_np(me),
        )
    };
    (top != 0 && size != 0 && size <= top).then(|| (top - size, top))
}
