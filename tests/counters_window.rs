//! Window semantics of `Profiler`: only the window's calls count, and the peak is measured
//! above the live level at the window's start.

mod common;

use std::hint::black_box;

use mod_alloc::{ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

fn main() {
    let mut passed = 0;
    let mut run = |name: &str, f: fn()| {
        common::check(name, f);
        passed += 1;
    };

    run("block_from_before_the_window_freed_inside_it", || {
        let before = black_box(vec![1u8; 10_000]);
        let p = Profiler::start();
        drop(before);
        let small = black_box(vec![2u8; 300]);
        let s = p.stop();
        assert_eq!((s.alloc_count, s.dealloc_count), (1, 1));
        assert_eq!((s.total_bytes, s.freed_bytes), (300, 10_000));
        assert_eq!((s.net_bytes, s.net_blocks), (300 - 10_000, 0));
        // The heap fell by 10,000 and then rose by 300: it never rose above the start level.
        assert_eq!(s.peak_bytes, 0);
        drop(small);
    });

    run("a_peak_never_exceeds_what_the_window_allocated", || {
        // Another thread allocates 60,000 bytes before the window and keeps them: under the
        // 64 KiB publication threshold, so they reach the shared level only when it exits,
        // inside the window, although none of them is the window's.
        // The block comes back to this thread when its allocator exits, and is freed after
        // the window.
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let block = black_box(vec![3u8; 60_000]);
            ready_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            block
        });
        ready_rx.recv().unwrap();
        let p = Profiler::start();
        let small = black_box(vec![4u8; 256]);
        go_tx.send(()).unwrap();
        let block = holder.join().unwrap();
        let s = p.stop();
        drop(block);
        assert!(s.total_bytes >= 256, "{s:?}");
        assert!(
            s.peak_bytes <= s.total_bytes,
            "the peak rose above everything the window allocated: {s:?}"
        );
        drop(small);
    });

    run("peak_is_relative_to_the_start_level", || {
        let resident = black_box(vec![0u8; 50_000]);
        let p = Profiler::start();
        let a = black_box(vec![0u8; 1_000]);
        let b = black_box(vec![0u8; 2_000]);
        drop(a);
        let c = black_box(vec![0u8; 500]);
        drop((b, c));
        let s = p.stop();
        assert_eq!(s.peak_bytes, 3_000);
        assert_eq!(s.net_bytes, 0);
        drop(resident);
    });

    run(
        "an_earlier_higher_peak_does_not_leak_into_a_later_window",
        || {
            drop(black_box(vec![0u8; 1 << 20]));
            let p = Profiler::start();
            drop(black_box(vec![0u8; 100]));
            assert_eq!(p.stop().peak_bytes, 100);
        },
    );

    run("nested_windows_each_see_their_own_peak", || {
        let outer = Profiler::start();
        drop(black_box(vec![0u8; 8_000]));
        let inner = Profiler::start();
        drop(black_box(vec![0u8; 1_000]));
        let inner_stats = inner.stop();
        drop(black_box(vec![0u8; 2_000]));
        let outer_stats = outer.stop();
        assert_eq!(inner_stats.peak_bytes, 1_000);
        assert_eq!(inner_stats.alloc_count, 1);
        assert_eq!(outer_stats.peak_bytes, 8_000);
        assert_eq!(outer_stats.alloc_count, 3);
    });

    run("overlapping_windows_closed_out_of_order", || {
        let first = Profiler::start();
        drop(black_box(vec![0u8; 5_000]));
        let second = Profiler::start();
        drop(black_box(vec![0u8; 700]));
        let first_stats = first.stop();
        drop(black_box(vec![0u8; 900]));
        let second_stats = second.stop();
        assert_eq!(
            (first_stats.peak_bytes, first_stats.alloc_count),
            (5_000, 2)
        );
        assert_eq!(
            (second_stats.peak_bytes, second_stats.alloc_count),
            (900, 2)
        );
    });

    run("stats_can_be_read_while_the_window_runs", || {
        let p = Profiler::start();
        let kept = black_box(vec![0u8; 4_096]);
        let so_far = p.stats();
        assert_eq!(
            (so_far.alloc_count, so_far.net_bytes, so_far.peak_bytes),
            (1, 4_096, 4_096)
        );
        drop(kept);
        let done = p.stop();
        assert_eq!(
            (done.dealloc_count, done.net_bytes, done.peak_bytes),
            (1, 0, 4_096)
        );
    });

    run("peaks_past_the_publication_threshold_stay_exact", || {
        // Large swings make the thread publish its net many times inside the window.
        let p = Profiler::start();
        let mut held = Vec::new();
        for i in 0..40 {
            held.push(black_box(vec![0u8; 10_000 + i]));
        }
        let top: u64 = (0..40).map(|i| 10_000 + i).sum::<u64>();
        let vec_of_vecs = (held.capacity() * std::mem::size_of::<Vec<u8>>()) as u64;
        drop(held);
        let s = p.stop();
        assert_eq!(s.peak_bytes, top + vec_of_vecs);
        assert_eq!(s.net_bytes, 0);
    });

    common::finish(passed);
}
