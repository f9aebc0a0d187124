//! [`ModAlloc`], the `GlobalAlloc` wrapper: the allocation hot path.
//!
//! Each method calls the inner allocator first. A null result is returned at once with
//! nothing recorded; otherwise the event goes to the calling thread's counters. Nothing here
//! takes a lock, allocates, or can panic.

use std::alloc::{GlobalAlloc, Layout, System};

use crate::thread_state;

/// A global allocator that counts every call it forwards to an inner allocator.
///
/// ```
/// use mod_alloc::ModAlloc;
///
/// #[global_allocator]
/// static GLOBAL: ModAlloc = ModAlloc::new();
/// # fn main() {}
/// ```
///
/// Any other `GlobalAlloc` can sit underneath:
///
/// ```
/// use std::alloc::System;
/// use mod_alloc::ModAlloc;
///
/// static WRAPPED: ModAlloc<System> = ModAlloc::with_inner(System);
/// ```
///
/// The counters are process-wide, not per value: install one `ModAlloc` as the global
/// allocator and read the figures through [`crate::Profiler`], [`crate::ThreadProfiler`] or
/// [`crate::stats`].
#[derive(Debug, Default, Clone, Copy)]
pub struct ModAlloc<A = System> {
    inner: A,
}

impl ModAlloc<System> {
    /// Wraps the system allocator.
    pub const fn new() -> Self {
        ModAlloc { inner: System }
    }
}

impl<A> ModAlloc<A> {
    /// Wraps any allocator.
    pub const fn with_inner(inner: A) -> Self {
        ModAlloc { inner }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

// SAFETY: every method forwards to `A` with the caller's arguments unchanged and returns
// `A`'s result unchanged, so `A`'s implementation of the `GlobalAlloc` contract carries over.
// The bookkeeping neither allocates through the global allocator nor unwinds.
unsafe impl<A: GlobalAlloc> GlobalAlloc for ModAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            thread_state::record_alloc(layout.size());
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            thread_state::record_alloc(layout.size());
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator with `layout`.
        unsafe { self.inner.dealloc(ptr, layout) };
        thread_state::record_dealloc(layout.size());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, which we pass on.
        let new_ptr = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            thread_state::record_realloc(layout.size(), new_size);
        }
        new_ptr
    }
}
