//! A worker that already ran a job is handed a second one, after the main
//! thread has made its blocks. The worker's events do not go through the
//! shared lock the second time, so `MIGRATING_FROM_DHAT.md` tells users to
//! call `HeapStats::get()` at such a hand-off to fix the order; this
//! scenario does, and the figures must then be dhat's exactly. Loops that
//! must not be unrolled (an unrolled copy is a new call stack) run a count
//! the compiler cannot see.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Whose turn it is: odd, the worker's job number; even, the main thread's.
static TURN: AtomicUsize = AtomicUsize::new(0);

fn wait_for(turn: usize) {
    while TURN.load(Ordering::Acquire) != turn {
        std::hint::spin_loop();
    }
}

#[inline(never)]
fn job() {
    drop(black_box(vec![2u8; 500]));
}

#[inline(never)]
fn make(size: usize) -> Vec<u8> {
    black_box(vec![1u8; size])
}

fn main() {
    let worker = std::thread::spawn(|| {
        let mut turn = 1;
        while turn <= black_box(3) {
            wait_for(turn);
            job();
            TURN.store(turn + 1, Ordering::Release);
            turn += 2;
        }
    });
    let profiler = dhat::Profiler::builder()
        .file_name("pool.json")
        .build();
    TURN.store(1, Ordering::Release);
    wait_for(2);
    let mut kept = Vec::new();
    let (count, mut made) = (black_box(4), 0);
    while made < count {
        kept = make(if made + 1 == count { 1000 } else { 8 });
        made += 1;
    }
    // The hand-off: everything the main thread did comes before the job.
    let before = dhat::HeapStats::get();
    TURN.store(3, Ordering::Release);
    worker.join().unwrap();
    // Read before printing: stdout's buffer would be the larger peak.
    let after = dhat::HeapStats::get();
    println!("before the second job: {before:?}");
    println!("after it: {after:?}");
    drop(profiler);
    drop(kept);
}
