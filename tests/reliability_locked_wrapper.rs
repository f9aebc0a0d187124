//! A global allocator that guards `ModAlloc` with a lock of its own must not deadlock while a
//! heap profile is read.
//!
//! One thread allocates without pause, so every few hundred events it applies its batch
//! under the heap session lock, from inside the wrapper's lock. Another thread keeps writing
//! the profile to a `String`. If that writer allocated through the global allocator while
//! holding the session lock, each thread would end up holding the lock the other waits for.
//! A watchdog fails the test instead of letting it hang.
#![cfg(feature = "dhat-compat")]

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use mod_alloc::{dhat_compat, ModAlloc};

/// `ModAlloc` behind a lock that every allocator call takes.
struct Locked {
    lock: Mutex<()>,
    inner: ModAlloc,
}

impl Locked {
    fn with<R>(&self, call: impl FnOnce(&ModAlloc) -> R) -> R {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        call(&self.inner)
    }
}

// SAFETY: every call is forwarded unchanged to `ModAlloc`.
unsafe impl GlobalAlloc for Locked {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        self.with(|inner| unsafe { inner.alloc(layout) })
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        self.with(|inner| unsafe { inner.alloc_zeroed(layout) })
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        self.with(|inner| unsafe { inner.dealloc(ptr, layout) })
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        self.with(|inner| unsafe { inner.realloc(ptr, layout, new_size) })
    }
}

#[global_allocator]
static GLOBAL: Locked = Locked {
    lock: Mutex::new(()),
    inner: ModAlloc::new(),
};

/// Allocates from 16 call stacks, keeping 64 blocks at a time, until told to stop.
fn churn(stop: &AtomicBool) {
    #[inline(never)]
    fn nested(depth: usize, size: usize) -> Vec<u8> {
        if depth == 0 {
            vec![1; size]
        } else {
            black_box(nested(depth - 1, size + 1))
        }
    }
    let mut round = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let mut kept = Vec::with_capacity(64);
        for i in 0..64 {
            kept.push(nested(i % 16, 8 + round % 32));
        }
        black_box(kept);
        round += 1;
    }
}

#[test]
fn reading_the_profile_does_not_deadlock_against_a_locking_wrapper() {
    let profiler = dhat_compat::Profiler::builder().testing().build();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let stop = AtomicBool::new(false);
        let points = std::thread::scope(|scope| {
            scope.spawn(|| churn(&stop));
            let mut longest = 0;
            for _ in 0..200 {
                let json = profiler.json_string().expect("a heap profile runs");
                longest = longest.max(json.len());
            }
            stop.store(true, Ordering::Relaxed);
            longest
        });
        let _ = done.send(points);
    });
    match finished.recv_timeout(Duration::from_secs(120)) {
        Ok(longest) => assert!(longest > 100, "the profile had program points"),
        Err(_) => {
            // Straight to the file descriptor and out: `eprintln!` in a test writes to the
            // harness's capture buffer, which allocates, and the allocator is stuck.
            let _ = std::io::stderr().write_all(
                b"deadlock: the profile's writer and an allocating thread never finished\n",
            );
            std::process::abort();
        }
    }
}
