//! A worker started before the first profiler lives through four profiles
//! with different frame limits (Some(4), Some(12), Some(6), and None) and in
//! each allocates at the bottom of a recursion deeper than the limit, from
//! two callers, holding both blocks at once; the main thread makes the
//! first event of each profile first. Each profile must key the worker's
//! stacks by its own limit, whatever the worker saw under the one before.
//! Every step waits for the one before, so the order is fixed and the
//! figures are compared exactly.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Odd: the worker runs round `STEP / 2`; even: the main thread does.
static STEP: AtomicUsize = AtomicUsize::new(0);

#[inline(never)]
fn caller_a(levels: usize) -> Vec<u8> {
    black_box(common::deep(levels, 100))
}

#[inline(never)]
fn caller_b(levels: usize) -> Vec<u8> {
    black_box(common::deep(levels, 100))
}

fn wait_for(step: usize) {
    while STEP.load(Ordering::Acquire) != step {
        std::hint::spin_loop();
    }
}

const LIMITS: [Option<usize>; 4] = [Some(4), Some(12), Some(6), None];

fn main() {
    println!("start");
    let worker = std::thread::spawn(|| {
        for round in 0..LIMITS.len() {
            wait_for(2 * round + 1);
            let levels = LIMITS[round].map_or(20, |n| n + 3);
            let a = caller_a(black_box(levels));
            let b = caller_b(black_box(levels));
            drop(black_box((a, b)));
            // Applies this thread's events before the hand-off.
            black_box(dhat::HeapStats::get());
            STEP.store(2 * round + 2, Ordering::Release);
        }
    });
    for (round, limit) in LIMITS.into_iter().enumerate() {
        let name = match limit {
            Some(n) => format!("sessions-{n}.json"),
            None => "sessions-none.json".to_string(),
        };
        let profiler = dhat::Profiler::builder()
            .trim_backtraces(limit)
            .file_name(name)
            .build();
        let first = common::site(black_box(10));
        STEP.store(2 * round + 1, Ordering::Release);
        wait_for(2 * round + 2);
        drop(first);
        drop(common::site(black_box(1000)));
        println!("round {round}: {:?}", dhat::HeapStats::get());
        drop(profiler);
    }
    worker.join().unwrap();
}
