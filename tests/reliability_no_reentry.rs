//! `ModAlloc` never allocates through the global allocator from inside one of its own calls.
//!
//! The global allocator here wraps `ModAlloc` and notes any call that arrives while another
//! call of the same thread is still inside it: a wrapper that guards `ModAlloc` with a lock
//! of its own would deadlock on such a call. Call sites and a heap profile run, from their
//! first start (where the walker calibrates) to their reports.
#![cfg(feature = "dhat-compat")]

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use mod_alloc::{dhat_compat, ModAlloc, Profiler};

struct Guarded(ModAlloc);

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Calls that arrived while the same thread was already inside the allocator.
static REENTRIES: AtomicUsize = AtomicUsize::new(0);

impl Guarded {
    fn enter<R>(&self, call: impl FnOnce(&ModAlloc) -> R) -> R {
        let nested = INSIDE
            .try_with(|inside| inside.replace(true))
            .unwrap_or(false);
        if nested {
            REENTRIES.fetch_add(1, Ordering::Relaxed);
        }
        let result = call(&self.0);
        if !nested {
            let _ = INSIDE.try_with(|inside| inside.set(false));
        }
        result
    }
}

// SAFETY: every call is forwarded unchanged to `ModAlloc`.
unsafe impl GlobalAlloc for Guarded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        self.enter(|inner| unsafe { inner.alloc(layout) })
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        self.enter(|inner| unsafe { inner.alloc_zeroed(layout) })
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        self.enter(|inner| unsafe { inner.dealloc(ptr, layout) })
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        self.enter(|inner| unsafe { inner.realloc(ptr, layout, new_size) })
    }
}

#[global_allocator]
static GLOBAL: Guarded = Guarded(ModAlloc::new());

#[inline(never)]
fn work() -> usize {
    let mut v: Vec<u64> = Vec::new();
    for i in 0..100 {
        v.push(black_box(i));
    }
    let text = format!("{v:?}");
    text.len()
}

#[test]
fn no_call_reenters_the_allocator() {
    let profiler = Profiler::start();
    black_box(work());
    let report = profiler.call_sites();
    drop(profiler);
    assert!(report.events > 0, "{report}");

    let heap = dhat_compat::Profiler::builder().testing().build();
    black_box(work());
    let stats = dhat_compat::HeapStats::get();
    let json = heap.json_string().expect("the running profile");
    drop(heap);
    assert!(stats.total_blocks > 0, "{stats:?}");
    // The file holds exactly the blocks the stats counted: writing it recorded nothing.
    let document: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let points = document["pps"].as_array().expect("program points");
    let sum = |key: &str| -> u64 { points.iter().map(|pp| pp[key].as_u64().unwrap()).sum() };
    assert_eq!(sum("tbk"), stats.total_blocks, "{json}");
    assert_eq!(sum("tb"), stats.total_bytes, "{json}");

    assert_eq!(REENTRIES.load(Ordering::Relaxed), 0);
}
