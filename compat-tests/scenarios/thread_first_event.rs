//! The profile's first event comes from a worker started before the
//! profiler, so the stack dhat compares with the profiler's start stack
//! belongs to another thread: they share no bottom frames, and dhat trims
//! nothing below `main` in this profile. The worker allocates at the bottom
//! of a recursion deeper than the frame limit from two callers, holding
//! both blocks; then, after a hand-off, the main thread allocates at
//! shallow stacks. Every step waits for the one before, so the order is
//! fixed and the figures are compared exactly.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

use std::hint::black_box;
use std::sync::atomic::{AtomicU8, Ordering};

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// 0: the worker waits; 1: the worker runs; 2: the worker is done.
static STEP: AtomicU8 = AtomicU8::new(0);

#[inline(never)]
fn caller_a() -> Vec<u8> {
    black_box(common::deep(black_box(12), 100))
}

#[inline(never)]
fn caller_b() -> Vec<u8> {
    black_box(common::deep(black_box(12), 100))
}

#[inline(never)]
fn shallow(n: usize) -> Vec<u8> {
    black_box(common::site(n))
}

fn wait_for(step: u8) {
    while STEP.load(Ordering::Acquire) != step {
        std::hint::spin_loop();
    }
}

fn main() {
    println!("start");
    let worker = std::thread::spawn(|| {
        wait_for(1);
        let a = caller_a();
        let b = caller_b();
        drop(black_box((a, b)));
        // Applies this thread's events before the hand-off.
        black_box(dhat::HeapStats::get());
        STEP.store(2, Ordering::Release);
    });
    let profiler = dhat::Profiler::builder()
        .file_name("thread-first.json")
        .build();
    STEP.store(1, Ordering::Release);
    wait_for(2);
    let one = shallow(black_box(30));
    let two = common::site(black_box(40));
    println!("main: {:?}", dhat::HeapStats::get());
    drop((one, two));
    drop(shallow(black_box(1000)));
    println!("end: {:?}", dhat::HeapStats::get());
    worker.join().unwrap();
    drop(profiler);
}
