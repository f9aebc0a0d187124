//! Stress under heap profiling: threads that start and exit during the run perform random
//! allocator operations while a dhat-compatible heap profile runs. Afterwards the heap
//! figures balance and every invariant of the profile holds exactly.
//!
//! `MOD_ALLOC_STRESS_OPS` sets the operations per worker (default 1,000,000).

mod common;

use common::Rng;

use std::alloc::{alloc, alloc_zeroed, dealloc, realloc, Layout};
use std::mem::ManuallyDrop;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const WORKERS: u64 = 8;
const AT_ONCE: u64 = 4;

/// Random operations; returns (blocks, bytes) this worker added to dhat's totals.
fn worker(seed: u64, ops: u64) -> (u64, u64) {
    let mut rng = Rng(seed | 1);
    let mut live: Vec<(*mut u8, Layout)> = Vec::with_capacity(2048);
    let (mut blocks, mut bytes) = (
        1u64,
        (2048 * std::mem::size_of::<(*mut u8, Layout)>()) as u64,
    );
    for _ in 0..ops {
        let roll = rng.next() % 10;
        if live.len() >= 2000 || (roll < 4 && !live.is_empty()) {
            let (ptr, layout) = live.swap_remove((rng.next() % live.len() as u64) as usize);
            // SAFETY: allocated with `layout`, freed once.
            unsafe { dealloc(ptr, layout) };
        } else if roll < 6 && !live.is_empty() {
            let index = (rng.next() % live.len() as u64) as usize;
            let (ptr, layout) = live[index];
            let new_size = rng.size();
            // SAFETY: live with `layout`; non-zero new size.
            let moved = unsafe { realloc(ptr, layout, new_size) };
            assert!(!moved.is_null());
            live[index] = (
                moved,
                Layout::from_size_align(new_size, layout.align()).unwrap(),
            );
            blocks += 1;
            bytes += new_size as u64;
        } else {
            let layout = Layout::from_size_align(rng.size(), rng.align()).unwrap();
            // SAFETY: non-zero size.
            let ptr = unsafe {
                if roll == 9 {
                    alloc_zeroed(layout)
                } else {
                    alloc(layout)
                }
            };
            assert!(!ptr.is_null());
            live.push((ptr, layout));
            blocks += 1;
            bytes += layout.size() as u64;
        }
    }
    for (ptr, layout) in live.drain(..) {
        // SAFETY: as above.
        unsafe { dealloc(ptr, layout) };
    }
    (blocks, bytes)
}

fn main() {
    let ops: u64 = std::env::var("MOD_ALLOC_STRESS_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    common::check("heap_profile_invariants_hold_under_threaded_churn", || {
        let mut profiler =
            ManuallyDrop::new(dhat::Profiler::builder().trim_backtraces(None).build());
        let mut handles_done = 0;
        let (mut blocks, mut bytes) = (0, 0);
        while handles_done < WORKERS {
            let wave: Vec<_> = (handles_done..(handles_done + AT_ONCE).min(WORKERS))
                .map(|i| std::thread::spawn(move || worker(0x51ED_2701 * (i + 1), ops)))
                .collect();
            handles_done += wave.len() as u64;
            for handle in wave {
                let (b, n) = handle.join().unwrap();
                blocks += b;
                bytes += n;
            }
        }
        let stats = dhat::HeapStats::get();
        // Every worker block was freed; what is left is the runtime's own (thread handles).
        assert!(
            stats.total_blocks >= blocks && stats.total_bytes >= bytes,
            "{stats:?}"
        );
        assert!(stats.curr_bytes < 64 * 1024, "{stats:?}");
        assert!(stats.max_bytes >= stats.curr_bytes && stats.max_blocks >= 1);
        let json = profiler.drop_and_get_memory_output();
        let profile: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        common::assert_heap_profile(&profile, Some(common::Totals::from(&stats)));
    });
    common::finish(1);
}
