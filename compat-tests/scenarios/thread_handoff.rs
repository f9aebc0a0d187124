//! A worker started before the profiler waits, without allocating, until
//! the main thread has made its blocks, then allocates and frees one of its
//! own. The order is fixed by the hand-off, so dhat's peak is too: the
//! worker's block comes on top of the main thread's live one, and the
//! figures are compared exactly.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

static GO: AtomicBool = AtomicBool::new(false);

#[inline(never)]
fn make(size: usize) -> Vec<u8> {
    black_box(vec![1u8; size])
}

fn main() {
    let worker = std::thread::spawn(|| {
        while !GO.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
        drop(black_box(vec![2u8; 500]));
    });
    let profiler = dhat::Profiler::builder()
        .file_name("handoff.json")
        .build();
    // One call site, so that after the first these are the main thread's
    // routine events, not ones that meet a new call stack.
    let mut kept = Vec::new();
    for size in [8, 8, 8, 1000] {
        kept = make(black_box(size));
    }
    GO.store(true, Ordering::Release);
    worker.join().unwrap();
    println!("{:?}", dhat::HeapStats::get());
    drop(profiler);
    drop(kept);
}
