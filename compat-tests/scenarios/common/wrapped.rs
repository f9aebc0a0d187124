//! The body of the scenarios `wrapped_alloc`, `wrapped_alloc_debug` and
//! `wrapped_alloc_inline`, and the wrappers of the `wrapped_zeroed` and
//! `forwarded_zeroed` scenarios: the global allocator is the program's own
//! `GlobalAlloc` around `dhat::Alloc` (a common pattern: counting, or
//! choosing the allocator at run time). Deep stacks under the default frame
//! limit, Some(6) and None, so the frames the wrapper adds to each stack
//! matter.
#![allow(dead_code)]

#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the allocations it passes on, its methods kept out of line and
/// never ending in a tail call, so each is a frame of its own.
pub struct Counting;

pub static CALLS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        black_box(dhat::Alloc.alloc(layout))
    }
    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        dhat::Alloc.dealloc(ptr, layout);
        black_box(());
    }
    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        black_box(dhat::Alloc.realloc(ptr, layout, new_size))
    }
}

/// [`Counting`] with an `alloc_zeroed` of its own, which calls `dhat::Alloc`'s.
pub struct CountingZeroed;

unsafe impl GlobalAlloc for CountingZeroed {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        black_box(dhat::Alloc.alloc(layout))
    }
    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        black_box(dhat::Alloc.alloc_zeroed(layout))
    }
    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        dhat::Alloc.dealloc(ptr, layout);
        black_box(());
    }
    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        black_box(dhat::Alloc.realloc(ptr, layout, new_size))
    }
}

/// Passes everything on, leaving inlining to the optimiser.
pub struct Forwarding;

unsafe impl GlobalAlloc for Forwarding {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        dhat::Alloc.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        dhat::Alloc.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        dhat::Alloc.realloc(ptr, layout, new_size)
    }
}

#[inline(never)]
fn recurse(depth: usize, size: usize) -> Vec<u8> {
    if depth == 0 {
        black_box(Vec::with_capacity(size))
    } else {
        let v = black_box(recurse(depth - 1, size));
        black_box(v)
    }
}

pub fn run() {
    for (i, cap) in [Some(10), Some(6), None].into_iter().enumerate() {
        let profiler = dhat::Profiler::builder()
            .trim_backtraces(cap)
            .file_name(format!("wrapped-{i}.json"))
            .build();
        let a = recurse(black_box(15), 100);
        let b = recurse(black_box(2), 200);
        let mut c: Vec<u8> = Vec::with_capacity(10);
        c.reserve_exact(300);
        println!("{i}: {:?}", dhat::HeapStats::get());
        drop(profiler);
        drop((a, b, c));
    }
}
