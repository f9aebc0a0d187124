//! Thread-scoped figures are exact however hard another thread allocates at the same time.

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use mod_alloc::{measure_thread, ModAlloc, Profiler, ThreadProfiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

fn workload() {
    let mut v: Vec<u32> = Vec::with_capacity(16);
    for i in 0..16 {
        v.push(black_box(i));
    }
    let s = black_box(String::from("thread-scoped"));
    drop((v, s));
}

/// Allocations made so far by the noisy thread.
static NOISE: AtomicUsize = AtomicUsize::new(0);

fn main() {
    let stop = Arc::new(AtomicBool::new(false));
    let noise = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut churn = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                churn.push(black_box(vec![0u8; 3_000]));
                NOISE.fetch_add(1, Ordering::Relaxed);
                if churn.len() > 64 {
                    churn.clear();
                }
            }
        })
    };
    let mut passed = 0;
    let mut run = |name: &str, f: &dyn Fn()| {
        common::check(name, f);
        passed += 1;
    };

    run(
        "noise_thread_does_not_change_thread_scoped_figures",
        &|| {
            let window = Profiler::start();
            let noise_at_start = NOISE.load(Ordering::Relaxed);
            let mut rounds = 0;
            // Keep measuring until the noisy thread has demonstrably allocated alongside.
            while rounds < 200 || NOISE.load(Ordering::Relaxed) < noise_at_start + 1_000 {
                let ((), s) = measure_thread(workload);
                assert_eq!((s.alloc_count, s.realloc_count, s.dealloc_count), (2, 0, 2));
                assert_eq!((s.total_bytes, s.peak_bytes, s.net_bytes), (64 + 13, 77, 0));
                rounds += 1;
            }
            // The process-wide window does see the noise.
            let all = window.stop();
            assert!(
                all.alloc_count >= 2 * rounds + 1_000,
                "the noisy thread was not counted: {all:?}"
            );
        },
    );

    run("nested_scopes", &|| {
        let outer = ThreadProfiler::start();
        let kept = black_box(vec![0u8; 1_000]);
        let inner = ThreadProfiler::start();
        drop(black_box(vec![0u8; 300]));
        let inner_stats = inner.stop();
        drop(kept);
        let outer_stats = outer.stop();
        assert_eq!((inner_stats.alloc_count, inner_stats.peak_bytes), (1, 300));
        assert_eq!(
            (outer_stats.alloc_count, outer_stats.peak_bytes),
            (2, 1_300)
        );
    });

    run("scopes_closed_out_of_order_keep_exact_peaks", &|| {
        let a = ThreadProfiler::start();
        drop(black_box(vec![0u8; 2_000])); // a's peak, before b opens
        let b = ThreadProfiler::start();
        drop(black_box(vec![0u8; 500]));
        let c = ThreadProfiler::start();
        drop(black_box(vec![0u8; 100]));
        let b_stats = b.stop(); // closed while c is still open
        drop(black_box(vec![0u8; 250]));
        let c_stats = c.stop();
        let a_stats = a.stop();
        assert_eq!(a_stats.peak_bytes, 2_000);
        assert_eq!(b_stats.peak_bytes, 500);
        assert_eq!(c_stats.peak_bytes, 250);
        assert_eq!(
            (
                a_stats.alloc_count,
                b_stats.alloc_count,
                c_stats.alloc_count
            ),
            (4, 2, 2)
        );
    });

    run(
        "closing_a_middle_scope_hands_the_later_peak_to_the_outer_ones",
        &|| {
            // As above, but the peak between the middle scope's start and the inner one's
            // is higher than anything before the middle scope started: the outer scope must
            // still see it once the middle one is gone.
            let a = ThreadProfiler::start();
            drop(black_box(vec![0u8; 100])); // before b opens
            let b = ThreadProfiler::start();
            drop(black_box(vec![0u8; 700])); // a's and b's peak, before c opens
            let c = ThreadProfiler::start();
            drop(black_box(vec![0u8; 50]));
            let b_stats = b.stop(); // closed while c is still open
            drop(black_box(vec![0u8; 40]));
            let c_stats = c.stop();
            let a_stats = a.stop();
            assert_eq!(
                (a_stats.peak_bytes, b_stats.peak_bytes, c_stats.peak_bytes),
                (700, 700, 50)
            );
        },
    );

    run(
        "frees_of_other_threads_blocks_count_for_the_freeing_thread",
        &|| {
            let block = std::thread::spawn(|| black_box(vec![0u8; 4_000]))
                .join()
                .unwrap();
            let ((), s) = measure_thread(|| drop(block));
            assert_eq!(
                (s.dealloc_count, s.freed_bytes, s.net_bytes, s.peak_bytes),
                (1, 4_000, -4_000, 0)
            );
        },
    );

    stop.store(true, Ordering::Relaxed);
    noise.join().unwrap();
    common::finish(passed);
}
