//! Windows backend for the calling thread's stack bounds: `GetCurrentThreadStackLimits`
//! (Windows 8 and later), which reads the thread information block.
//!
//! The walker compiles here, but Windows x64 code does not keep `rbp` chains (unwinding uses
//! table-based `.pdata` information), so walks usually end early or capture nothing.

#[link(name = "kernel32")]
extern "system" {
    fn GetCurrentThreadStackLimits(low_limit: *mut usize, high_limit: *mut usize);
}

/// The calling thread's stack as `(lowest address, one past the highest)`, or `None` if the
/// system cannot say.
pub(crate) fn thread_stack_bounds() -> Option<(usize, usize)> {
    let (mut low, mut high) = (0usize, 0usize);
    // SAFETY: both out-pointers are valid for writes of a `ULONG_PTR`.
    unsafe { GetCurrentThreadStackLimits(&mut low, &mut high) };
    (low != 0 && high > low).then_some((low, high))
}
