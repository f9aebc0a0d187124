//! Many threads allocate and exit: totals balance exactly, and slots are recycled.

mod common;

use std::hint::black_box;

use mod_alloc::{ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const WAVES: usize = 25;
const THREADS_PER_WAVE: usize = 8;
const ALLOCS_PER_THREAD: u64 = 500;

fn churn(seed: u64) -> u64 {
    let mut kept = Vec::new();
    let mut bytes = 0;
    for i in 0..ALLOCS_PER_THREAD {
        let size = ((seed * 31 + i * 17) % 4_000 + 1) as usize;
        bytes += size as u64;
        let block = black_box(vec![0u8; size]);
        if i % 3 == 0 {
            kept.push(block);
        }
    }
    drop(kept);
    bytes
}

fn main() {
    common::check("totals_balance_after_threads_exit", || {
        let p = Profiler::start();
        let mut expected_bytes = 0;
        for wave in 0..WAVES {
            let handles: Vec<_> = (0..THREADS_PER_WAVE)
                .map(|t| std::thread::spawn(move || churn((wave * THREADS_PER_WAVE + t) as u64)))
                .collect();
            for handle in handles {
                expected_bytes += handle.join().unwrap();
            }
        }
        let s = p.stop();
        let threads = (WAVES * THREADS_PER_WAVE) as u64;
        // Every churn allocation and free is counted, plus whatever thread spawning costs.
        assert!(s.alloc_count >= threads * ALLOCS_PER_THREAD, "{s:?}");
        assert!(s.total_bytes >= expected_bytes, "{s:?}");
        // All blocks of exited threads are freed: counts balance exactly.
        assert_eq!(s.alloc_count, s.dealloc_count, "{s:?}");
        assert_eq!(s.total_bytes, s.freed_bytes, "{s:?}");
        assert_eq!((s.net_bytes, s.net_blocks), (0, 0));
    });
    common::check("slots_of_exited_threads_are_reused", || {
        let slots = mod_alloc::__private::counter_slots();
        // 200 threads ran, at most 8 (+ this one) at a time.
        assert!(
            slots <= THREADS_PER_WAVE + 4,
            "{slots} slots for {} threads",
            WAVES * THREADS_PER_WAVE
        );
    });
    common::check("process_totals_balance_with_what_is_live", || {
        // (`net_bytes` is `total_bytes - freed_bytes` by construction; that it is not below
        // zero is the check: no free was counted without its allocation.)
        let s = mod_alloc::stats();
        assert!(s.net_bytes >= 0 && s.net_blocks >= 0, "{s:?}");
    });
    common::finish(3);
}
