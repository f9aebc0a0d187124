//! Exact figures for known workloads, on one thread.

mod common;

use std::alloc::{alloc, alloc_zeroed, dealloc, realloc, Layout};
use std::hint::black_box;

use mod_alloc::{AllocStats, ModAlloc, Profiler, ThreadProfiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

/// Measures `f` both ways: the thread scope and the process window must agree exactly,
/// since only this thread allocates.
fn measure(f: impl FnOnce()) -> AllocStats {
    let window = Profiler::start();
    let scope = ThreadProfiler::start();
    f();
    let own = scope.stop();
    let all = window.stop();
    assert_eq!(own, all, "thread scope and process window disagree");
    own
}

fn main() {
    let mut passed = 0;
    let mut run = |name: &str, f: fn()| {
        common::check(name, f);
        passed += 1;
    };

    run("vec_with_capacity", || {
        let s = measure(|| drop(black_box(Vec::<u32>::with_capacity(100))));
        assert_eq!((s.alloc_count, s.dealloc_count, s.realloc_count), (1, 1, 0));
        assert_eq!(
            (s.total_bytes, s.freed_bytes, s.net_bytes, s.net_blocks),
            (400, 400, 0, 0)
        );
        assert_eq!(s.peak_bytes, 400);
    });

    run("vec_growth_by_push_reallocates", || {
        let s = measure(|| {
            let mut v: Vec<u64> = Vec::new();
            for i in 0..100 {
                v.push(black_box(i));
            }
            drop(black_box(v));
        });
        // Capacities 4, 8, 16, 32, 64, 128: one allocation and five reallocations, each
        // counted at its full new size.
        assert_eq!((s.alloc_count, s.realloc_count, s.dealloc_count), (1, 5, 1));
        assert_eq!(s.total_bytes, 8 * (4 + 8 + 16 + 32 + 64 + 128));
        assert_eq!(s.freed_bytes, s.total_bytes);
        assert_eq!(s.peak_bytes, 8 * 128);
        assert_eq!((s.net_bytes, s.net_blocks), (0, 0));
    });

    run("box_and_string", || {
        let s = measure(|| {
            let b = black_box(Box::new([7u8; 24]));
            let mut text = String::with_capacity(10);
            text.push_str(black_box("0123456789"));
            drop(black_box(text));
            drop(b);
        });
        assert_eq!((s.alloc_count, s.dealloc_count, s.total_bytes), (2, 2, 34));
        assert_eq!(s.peak_bytes, 34);
    });

    run("alloc_zeroed_counts_like_alloc", || {
        let layout = Layout::from_size_align(1000, 8).unwrap();
        let s = measure(|| {
            // SAFETY: non-zero size; freed with the same layout.
            unsafe {
                let p = black_box(alloc_zeroed(layout));
                assert!(!p.is_null());
                assert!(std::slice::from_raw_parts(p, 1000).iter().all(|&b| b == 0));
                dealloc(p, layout);
            }
        });
        assert_eq!(
            (s.alloc_count, s.dealloc_count, s.total_bytes, s.peak_bytes),
            (1, 1, 1000, 1000)
        );
    });

    run("alignments_up_to_4096", || {
        let mut align = 1;
        while align <= 4096 {
            let layout = Layout::from_size_align(24, align).unwrap();
            let s = measure(|| {
                // SAFETY: non-zero size; freed with the same layout.
                unsafe {
                    let p = black_box(alloc(layout));
                    assert_eq!(p as usize % align, 0);
                    dealloc(p, layout);
                }
            });
            assert_eq!(
                (s.alloc_count, s.total_bytes, s.peak_bytes),
                (1, 24, 24),
                "align {align}"
            );
            align *= 2;
        }
    });

    run("shrinking_realloc", || {
        let layout = Layout::from_size_align(4096, 16).unwrap();
        let s = measure(|| {
            // SAFETY: each pointer is used with the layout it currently has.
            unsafe {
                let p = black_box(alloc(layout));
                let q = realloc(p, layout, 100);
                assert!(!q.is_null());
                dealloc(q, Layout::from_size_align(100, 16).unwrap());
            }
        });
        assert_eq!((s.alloc_count, s.realloc_count, s.dealloc_count), (1, 1, 1));
        assert_eq!(s.total_bytes, 4096 + 100);
        assert_eq!(s.freed_bytes, 4096 + 100);
        assert_eq!(s.peak_bytes, 4096);
        assert_eq!(s.net_bytes, 0);
    });

    run("quick_start_figures", || {
        let p = Profiler::start();
        let v: Vec<u64> = (0..1_000).collect();
        black_box(&v);
        drop(v);
        let stats = p.stop();
        assert_eq!(stats.alloc_count, 1);
        assert_eq!(stats.total_bytes, 8_000);
        assert_eq!(stats.peak_bytes, 8_000);
    });

    run("process_stats_lifetime_peak", || {
        // `net_*` are `total - freed` by construction, and the peak is never reported below
        // the live heap, so those relations say nothing; the live heap and the lifetime peak
        // after a block has come and gone do.
        let before = mod_alloc::stats();
        assert!(
            before.net_blocks > 0,
            "std keeps some blocks alive: {before:?}"
        );
        const BLOCK: usize = 1 << 20;
        drop(black_box(vec![0u8; BLOCK]));
        let after = mod_alloc::stats();
        assert_eq!(
            (after.net_bytes, after.net_blocks),
            (before.net_bytes, before.net_blocks),
            "the block is gone: {before:?} then {after:?}"
        );
        assert!(
            after.peak_bytes >= before.net_bytes as u64 + BLOCK as u64,
            "the lifetime peak saw the block: {before:?} then {after:?}"
        );
    });

    common::finish(passed);
}
