//! An inner allocator that fails on demand: the null passes through and nothing is recorded.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use mod_alloc::{ModAlloc, ThreadProfiler};

/// Wraps `System`; while the calling thread's flag is set, every call returns null.
struct Failing;

thread_local! {
    static FAIL: Cell<bool> = const { Cell::new(false) };
}

fn failing() -> bool {
    FAIL.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: forwards to `System`, or returns null, which `GlobalAlloc` permits for any call.
unsafe impl GlobalAlloc for Failing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if failing() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if failing() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if failing() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: ModAlloc<Failing> = ModAlloc::with_inner(Failing);

fn main() {
    let layout = Layout::from_size_align(256, 16).unwrap();
    common::check("null_from_inner_is_returned_and_not_recorded", || {
        let scope = ThreadProfiler::start();
        FAIL.with(|f| f.set(true));
        // SAFETY: non-zero sizes; nothing is freed because nothing was allocated.
        let (a, z) = unsafe { (GLOBAL.alloc(layout), GLOBAL.alloc_zeroed(layout)) };
        FAIL.with(|f| f.set(false));
        assert!(a.is_null() && z.is_null());
        let s = scope.stop();
        assert_eq!(
            (s.alloc_count, s.total_bytes, s.peak_bytes),
            (0, 0, 0),
            "{s:?}"
        );
    });
    common::check(
        "failed_realloc_keeps_the_old_block_and_records_nothing",
        || {
            // SAFETY: `p` is used with the layout it has; the failed realloc leaves it valid.
            unsafe {
                let p = GLOBAL.alloc(layout);
                assert!(!p.is_null());
                p.write_bytes(0xAB, 256);
                let scope = ThreadProfiler::start();
                FAIL.with(|f| f.set(true));
                let q = GLOBAL.realloc(p, layout, 1 << 20);
                FAIL.with(|f| f.set(false));
                let s = scope.stop();
                assert!(q.is_null());
                assert_eq!(
                    (s.realloc_count, s.total_bytes, s.freed_bytes),
                    (0, 0, 0),
                    "{s:?}"
                );
                assert_eq!(*p.add(255), 0xAB);
                GLOBAL.dealloc(p, layout);
            }
        },
    );
    common::check("successful_calls_after_failures_are_recorded", || {
        let scope = ThreadProfiler::start();
        drop(black_box(vec![1u8; 64]));
        let s = scope.stop();
        assert_eq!((s.alloc_count, s.dealloc_count, s.total_bytes), (1, 1, 64));
    });
    common::finish(3);
}
