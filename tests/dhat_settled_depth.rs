//! dhat keys a program point by its capped frames, so stacks that differ only below the cap
//! are one point, whose peak (`mb`) is the most they held together. The first heap profiler
//! of a process learns how many frames its cap leaves (which depends on dhat's allocator
//! frames) only after its start, by naming the allocator's frames; until then a point is
//! keyed by more frames. A thread that allocates meanwhile caches its stacks at that
//! provisional depth, and must not keep recording into those finer points afterwards.
//!
//! A program of its own (`harness = false`): the first profiler of the process is what this
//! checks, and a test runner's threads would allocate while it runs. Needs frame pointers,
//! as the test command builds it.

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Frames of recursion above the allocation: more than the default cap of 10, so the two
/// threads' stacks agree on every frame the cap keeps.
const LEVELS: usize = 24;
const BLOCK: usize = 100;
const OTHER_PEAK: usize = 10_000;

/// Set when the allocating thread should keep its next block.
static KEEP: AtomicBool = AtomicBool::new(false);
/// Blocks the allocating thread has made and freed.
static CHURNED: AtomicU64 = AtomicU64::new(0);

#[inline(never)]
fn site() -> Vec<u8> {
    black_box(Vec::with_capacity(BLOCK))
}

#[inline(never)]
fn nested(levels: usize) -> Vec<u8> {
    if black_box(levels) == 0 {
        return site();
    }
    let block = nested(levels - 1);
    black_box(block)
}

/// The allocating thread's one call site: the same stack whether it keeps the block or not.
/// It reads `KEEP` before allocating, so the block it keeps was made after the profiler's
/// start returned.
fn churn_then_keep(kept: mpsc::Sender<Vec<u8>>) {
    loop {
        let keep = KEEP.load(Ordering::Acquire);
        let block = nested(black_box(LEVELS));
        if keep {
            kept.send(block).unwrap();
            return;
        }
        drop(block);
        CHURNED.fetch_add(1, Ordering::Relaxed);
    }
}

#[inline(never)]
fn main_thread_block() -> Vec<u8> {
    black_box(nested(black_box(LEVELS)))
}

fn points_that_differ_below_the_cap_share_one_peak() {
    if common::skip_without_frame_pointers() {
        return;
    }
    // A call-site profiler calibrates the walk first. Otherwise the thread's first events
    // would come while the heap profiler's start calibrates it, with the allocator's frames
    // still on top of their stacks: points that print apart from the rest for that reason.
    drop(mod_alloc::Profiler::start());
    let (sender, kept) = mpsc::channel();
    let churner = std::thread::spawn(move || churn_then_keep(sender));
    // The thread allocates throughout the first profiler's start, naming included.
    while CHURNED.load(Ordering::Relaxed) < 1_000 {
        std::thread::yield_now();
    }
    let before = CHURNED.load(Ordering::Relaxed);
    let mut profiler = std::mem::ManuallyDrop::new(dhat::Profiler::builder().build());
    let during = CHURNED.load(Ordering::Relaxed) - before;

    KEEP.store(true, Ordering::Release);
    let theirs = kept.recv_timeout(Duration::from_secs(60)).unwrap();
    churner.join().unwrap();
    let ours = main_thread_block();
    drop((theirs, ours));
    // The global peak, elsewhere, once the two blocks are gone: so neither the figures at
    // the peak nor those at the end hold the pair.
    drop(black_box(vec![0u8; OTHER_PEAK]));

    let json: serde_json::Value =
        serde_json::from_str(&profiler.drop_and_get_memory_output()).unwrap();
    let ftbl = json["ftbl"].as_array().unwrap();
    let nested = format!("{}::nested", module_path!());
    let peaks: Vec<(u64, u64)> = json["pps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pp| {
            pp["fs"].as_array().unwrap().iter().any(|frame| {
                let text = ftbl[frame.as_u64().unwrap() as usize].as_str().unwrap();
                text.contains(&nested)
            })
        })
        .map(|pp| (pp["mb"].as_u64().unwrap(), pp["mbk"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        peaks,
        [(2 * BLOCK as u64, 2)],
        "one point for both threads' blocks, at its peak holding both \
         ({during} blocks churned while the profiler started)"
    );
}

fn main() {
    common::check(
        "points_that_differ_below_the_cap_share_one_peak",
        points_that_differ_below_the_cap_share_one_peak,
    );
    common::finish(1);
}
