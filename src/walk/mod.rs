//! Frame-pointer walker (feature `backtraces`). OWNED BY THE WALKER WORK; this is the agreed
//! interface, to be replaced by the real implementation.

/// Most raw frames one capture can record (`trim_backtraces(None)` needs at least 64).
pub(crate) const MAX_FRAMES: usize = 64;

/// Raw frames captured by default: enough for dhat's default of 10 after trimming.
pub(crate) const DEFAULT_FRAMES: usize = 16;

/// Writes the return addresses of the code that called the global allocator into `frames`,
/// innermost first, with the allocator's own frames (ModAlloc / dhat_compat::Alloc methods and
/// the `__rust_alloc` shims) skipped. Returns how many were written (at most `frames.len()`).
#[inline(never)]
pub(crate) fn capture(frames: &mut [usize]) -> usize {
    let _ = frames;
    0
}
