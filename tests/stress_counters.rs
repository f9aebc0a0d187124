//! Stress: threads that start and exit during the run each perform random allocator
//! operations (alloc, zeroed, realloc up and down, free; 1 B to 1 MiB; alignments up to 4096).
//! Each worker checks its own figures against its own model exactly, and afterwards the
//! process-wide figures balance exactly.
//!
//! `MOD_ALLOC_STRESS_OPS` sets the operations per worker (default 1,000,000; the sanitizer
//! legs use fewer).

mod common;

use common::Rng;

use std::alloc::{alloc, alloc_zeroed, dealloc, realloc, Layout};

use mod_alloc::{AllocStats, ModAlloc, Profiler, ThreadProfiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const WORKERS: usize = 8;
const AT_ONCE: usize = 4;

/// What a worker expects its own figures to be.
#[derive(Default, Debug)]
struct Model {
    allocs: u64,
    reallocs: u64,
    deallocs: u64,
    bytes_allocated: u64,
    bytes_freed: u64,
    live: u64,
    peak: u64,
}

fn worker(seed: u64, ops: u64) -> (AllocStats, Model) {
    let mut rng = Rng(seed | 1);
    let mut model = Model::default();
    let mut live: Vec<(*mut u8, Layout)> = Vec::with_capacity(4096);
    // `live` is allocated before the scope opens and only grows within its capacity, so the
    // scope sees exactly the operations below.
    let scope = ThreadProfiler::start();
    for _ in 0..ops {
        let roll = rng.next() % 10;
        if live.len() >= 4000 || (roll < 4 && !live.is_empty()) {
            let (ptr, layout) = live.swap_remove((rng.next() % live.len() as u64) as usize);
            // SAFETY: `ptr` was allocated with `layout` and is freed once.
            unsafe { dealloc(ptr, layout) };
            model.deallocs += 1;
            model.bytes_freed += layout.size() as u64;
            model.live -= layout.size() as u64;
        } else if roll < 6 && !live.is_empty() {
            let index = (rng.next() % live.len() as u64) as usize;
            let (ptr, layout) = live[index];
            let new_size = rng.size();
            // SAFETY: `ptr` is live with `layout`; the new size is non-zero.
            let moved = unsafe { realloc(ptr, layout, new_size) };
            assert!(!moved.is_null());
            // SAFETY: the block is at least one byte long.
            unsafe { moved.write(0x5A) };
            live[index] = (
                moved,
                Layout::from_size_align(new_size, layout.align()).unwrap(),
            );
            model.reallocs += 1;
            model.bytes_allocated += new_size as u64;
            model.bytes_freed += layout.size() as u64;
            model.live = model.live + new_size as u64 - layout.size() as u64;
        } else {
            let layout = Layout::from_size_align(rng.size(), rng.align()).unwrap();
            let zeroed = roll == 9;
            // SAFETY: non-zero size.
            let ptr = unsafe {
                if zeroed {
                    alloc_zeroed(layout)
                } else {
                    alloc(layout)
                }
            };
            assert!(!ptr.is_null());
            assert_eq!(ptr as usize % layout.align(), 0);
            if zeroed {
                // SAFETY: the block is `layout.size()` bytes long.
                assert_eq!(unsafe { *ptr.add(layout.size() - 1) }, 0);
            }
            live.push((ptr, layout));
            model.allocs += 1;
            model.bytes_allocated += layout.size() as u64;
            model.live += layout.size() as u64;
        }
        model.peak = model.peak.max(model.live);
    }
    for (ptr, layout) in live.drain(..) {
        // SAFETY: as above.
        unsafe { dealloc(ptr, layout) };
        model.deallocs += 1;
        model.bytes_freed += layout.size() as u64;
    }
    model.live = 0;
    (scope.stop(), model)
}

fn main() {
    let ops: u64 = std::env::var("MOD_ALLOC_STRESS_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    common::check(
        "workers_figures_match_their_models_and_totals_balance",
        || {
            let mut results = Vec::with_capacity(WORKERS);
            let window = Profiler::start();
            let mut next = 0;
            while next < WORKERS {
                // Waves of AT_ONCE threads: threads keep starting and exiting during the run.
                let wave: Vec<_> = (next..(next + AT_ONCE).min(WORKERS))
                    .map(|i| std::thread::spawn(move || worker(0x9E37_79B9 * (i as u64 + 1), ops)))
                    .collect();
                next += wave.len();
                results.extend(wave.into_iter().map(|h| h.join().expect("worker panicked")));
            }
            let all = window.stop();
            for (own, model) in &results {
                assert_eq!(own.alloc_count, model.allocs, "{own:?} {model:?}");
                assert_eq!(own.realloc_count, model.reallocs);
                assert_eq!(own.dealloc_count, model.deallocs);
                assert_eq!(own.total_bytes, model.bytes_allocated);
                assert_eq!(own.freed_bytes, model.bytes_freed);
                assert_eq!(own.net_bytes, 0);
                assert_eq!(own.peak_bytes, model.peak, "{own:?} {model:?}");
            }
            let worker_allocs: u64 = results.iter().map(|(own, _)| own.alloc_count).sum();
            assert!(all.alloc_count >= worker_allocs);
            assert_eq!(all.alloc_count, all.dealloc_count, "{all:?}");
            assert_eq!(all.total_bytes, all.freed_bytes, "{all:?}");
            assert_eq!((all.net_bytes, all.net_blocks), (0, 0));
            assert!(all.peak_bytes >= results.iter().map(|(own, _)| own.peak_bytes).max().unwrap());
        },
    );
    common::finish(1);
}
