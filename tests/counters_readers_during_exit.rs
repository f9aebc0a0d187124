//! Readers while threads come and go: a thread that reads the process-wide figures while
//! other threads start, allocate, hand blocks over and exit sees every counter only grow;
//! an exiting thread's counts never vanish or count twice, its unpublished net reaches the
//! global peak, and a thread that takes over an exited thread's slot measures itself exactly.

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use mod_alloc::{measure_thread, AllocStats, ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const WAVES: usize = 30;
const THREADS_PER_WAVE: usize = 4;

/// Every counter of `now` is at least the one in `before`.
fn assert_grew(before: &AllocStats, now: &AllocStats) {
    let pairs = [
        (before.alloc_count, now.alloc_count),
        (before.realloc_count, now.realloc_count),
        (before.dealloc_count, now.dealloc_count),
        (before.total_bytes, now.total_bytes),
        (before.freed_bytes, now.freed_bytes),
    ];
    for (old, new) in pairs {
        assert!(new >= old, "a counter went back: {before:?} then {now:?}");
    }
}

/// One worker: churns, measures itself exactly, and leaves `keep` bytes to the main thread
/// (so the slot it hands back, and a later thread adopts, had a net other than zero).
fn worker(seed: usize, keep: usize, handover: mpsc::Sender<Vec<u8>>) {
    let mut kept = Vec::new();
    for i in 0..200 {
        let block = black_box(vec![0u8; (seed * 37 + i * 11) % 3_000 + 1]);
        if i % 4 == 0 {
            kept.push(block);
        }
    }
    drop(kept);
    let ((), own) = measure_thread(|| {
        let a = black_box(vec![1u8; 5_000]);
        let b = black_box(vec![2u8; 3_000]);
        drop((a, b));
    });
    assert_eq!(
        (own.alloc_count, own.dealloc_count, own.total_bytes),
        (2, 2, 8_000),
        "{own:?}"
    );
    assert_eq!((own.peak_bytes, own.net_bytes), (8_000, 0), "{own:?}");
    handover.send(black_box(vec![3u8; keep])).unwrap();
}

fn main() {
    common::check("readers_see_every_counter_grow_while_threads_exit", || {
        let window = Arc::new(Profiler::start());
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let (window, done) = (Arc::clone(&window), Arc::clone(&done));
            std::thread::spawn(move || {
                let (mut process, mut windowed) = (mod_alloc::stats(), window.stats());
                let mut reads = 0u64;
                while !done.load(Ordering::Relaxed) || reads < 100 {
                    let (process_now, windowed_now) = (mod_alloc::stats(), window.stats());
                    assert_grew(&process, &process_now);
                    assert_grew(&windowed, &windowed_now);
                    (process, windowed) = (process_now, windowed_now);
                    reads += 1;
                }
                reads
            })
        };
        let (handover, received) = mpsc::channel();
        let mut leftovers = Vec::new();
        for wave in 0..WAVES {
            let workers: Vec<_> = (0..THREADS_PER_WAVE)
                .map(|t| {
                    let handover = handover.clone();
                    let seed = wave * THREADS_PER_WAVE + t;
                    std::thread::spawn(move || worker(seed, 100 + seed, handover))
                })
                .collect();
            for w in workers {
                w.join().unwrap();
            }
            leftovers.extend(received.try_iter());
        }
        drop((handover, received));
        assert_eq!(leftovers.len(), WAVES * THREADS_PER_WAVE);
        drop(leftovers);
        done.store(true, Ordering::Relaxed);
        let reads = reader.join().unwrap();
        assert!(reads >= 100);
        drop(done);
        let s = Arc::try_unwrap(window).unwrap().stop();
        // Everything the workers allocated was freed, some of it by this thread: every
        // exited thread's counts are in, once.
        assert!(
            s.alloc_count >= (WAVES * THREADS_PER_WAVE * 203) as u64,
            "{s:?}"
        );
        assert_eq!(s.alloc_count, s.dealloc_count, "{s:?}");
        assert_eq!(s.total_bytes, s.freed_bytes, "{s:?}");
        assert_eq!((s.net_bytes, s.net_blocks), (0, 0), "{s:?}");
    });

    common::check(
        "an_exiting_thread_s_unpublished_net_reaches_the_peak",
        || {
            let p = Profiler::start();
            // Below the publication threshold, so only the exit hook publishes it.
            let kept = std::thread::spawn(|| black_box(vec![1u8; 40_000]))
                .join()
                .unwrap();
            // Takes over a slot handed back by an exited thread; also published only at exit.
            std::thread::spawn(|| drop(black_box(vec![2u8; 20_000])))
                .join()
                .unwrap();
            drop(kept);
            let s = p.stop();
            assert_eq!((s.net_bytes, s.net_blocks), (0, 0), "{s:?}");
            // Both blocks were live together: 60,000 bytes. Without the exit hooks' publications
            // the peak would be at most 40,000. It may be off by a few hundred bytes: thread
            // start-up allocates on both sides, and a block this thread allocated and the exiting
            // thread freed is published by the one before the other (within the documented error).
            assert!(
                (56_000..64_000).contains(&s.peak_bytes),
                "exit did not publish: {s:?}"
            );
        },
    );

    common::finish(2);
}
