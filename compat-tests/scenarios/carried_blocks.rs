//! Blocks that outlive the profiler that saw them allocated and are grown,
//! shrunk and freed under the next one, on the thread that made them and on
//! others: each new profiler knows no block from before it, so a free of
//! such a block is ignored and a realloc is a new block at the realloc's
//! call site. A worker thread that allocated under the first profiler stays
//! alive and frees and grows its blocks under the second and third; blocks
//! from an ad hoc profile and from an asserted testing profile come along
//! too. Every step runs while the other thread waits, so the order is fixed.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;
use std::sync::mpsc;

enum Job {
    Make,
    Grow,
    Shrink,
    Free,
    Stop,
}

fn stats(label: &str) {
    println!("{label}: {:?}", dhat::HeapStats::get());
}

#[inline(never)]
fn make(size: usize) -> Vec<u8> {
    black_box(vec![9u8; size])
}

#[inline(never)]
fn grow(v: &mut Vec<u8>, extra: usize) {
    v.reserve_exact(v.capacity() + extra - v.len());
}

#[inline(never)]
fn shrink(v: &mut Vec<u8>, to: usize) {
    v.truncate(to);
    v.shrink_to_fit();
}

/// A wait on a channel that nothing is sent on yet: it blocks for certain. A thread's first
/// blocking receive allocates (its waiting context, and the channel's list of waiters), and
/// whether a later receive blocks depends on timing; done once up front, on both channels
/// and threads, it leaves no allocation of the channels' to fall inside a profile.
fn block_once<T>(channel: &mpsc::Receiver<T>) {
    assert!(channel
        .recv_timeout(std::time::Duration::from_millis(1))
        .is_err());
}

fn main() {
    let (to_worker, jobs) = mpsc::channel::<Job>();
    let (done, from_worker) = mpsc::channel::<()>();
    block_once(&from_worker);
    let worker = std::thread::spawn(move || {
        let mut mine: Vec<Vec<u8>> = Vec::with_capacity(8);
        block_once(&jobs);
        // Ready: everything the worker makes from here on is profiled.
        done.send(()).unwrap();
        for job in jobs {
            match job {
                Job::Make => {
                    mine.push(make(300));
                    mine.push(make(301));
                }
                Job::Grow => grow(&mut mine[0], 200),
                Job::Shrink => shrink(&mut mine[0], 50),
                Job::Free => drop(mine.pop()),
                Job::Stop => break,
            }
            done.send(()).unwrap();
        }
        mine.len()
    });
    from_worker.recv().unwrap();
    let mut run = |job: Job| {
        to_worker.send(job).unwrap();
        from_worker.recv().unwrap();
    };

    // First profiler: blocks on both threads, kept past its end.
    let first = dhat::Profiler::builder().file_name("first.json").build();
    let mut a = make(1000);
    let b = make(40);
    let c = make(70);
    run(Job::Make);
    stats("first");
    drop(first);

    // Between profilers: one of them freed, its address likely reused later.
    drop(c);

    // An ad hoc profile, whose allocations are never tracked.
    let ad_hoc = dhat::Profiler::builder()
        .ad_hoc()
        .file_name("ad-hoc.json")
        .build();
    let mut d = make(500);
    dhat::ad_hoc_event(1);
    drop(ad_hoc);

    // Second profiler: frees and reallocs of every earlier block.
    let second = dhat::Profiler::builder().file_name("second.json").build();
    stats("second start");
    let e = make(70);
    stats("second made");
    drop(b);
    stats("second freed b");
    grow(&mut a, 24);
    stats("second grew a");
    shrink(&mut d, 100);
    stats("second shrank d");
    run(Job::Free);
    stats("second worker freed");
    run(Job::Grow);
    stats("second worker grew");
    run(Job::Make);
    stats("second worker made");
    drop(second);

    // A testing profiler that asserts: its blocks are carried on too.
    let testing = dhat::Profiler::builder()
        .testing()
        .file_name("testing.json")
        .build();
    let f = make(33);
    common::outcome("testing assertion", || dhat::assert!(f.len() == 0));
    drop(testing);

    // Third profiler: the survivors once more, on both threads.
    let third = dhat::Profiler::builder().file_name("third.json").build();
    drop(e);
    drop(f);
    shrink(&mut a, 10);
    stats("third main");
    run(Job::Shrink);
    run(Job::Free);
    run(Job::Free);
    stats("third worker");
    let g = make(12);
    drop(a);
    drop(d);
    stats("third end");
    drop(third);
    drop(g);

    to_worker.send(Job::Stop).unwrap();
    println!("worker kept {}", worker.join().unwrap());
    common::list_files("end");
}
