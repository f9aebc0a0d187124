//! Real stack walks from 4 threads into two call sites: each site's count and bytes are
//! exact, and the two sites are told apart. Needs frame pointers
//! (`RUSTFLAGS="-C force-frame-pointers=yes"`, as the README test command sets): without them
//! it is skipped, unless `MOD_ALLOC_EXPECT_FRAME_POINTERS=present` says the build has them,
//! and then it fails.
#![cfg(feature = "backtraces")]

mod common;

use common::{allocate_first, allocate_second, FIRST_SIZE, SECOND_SIZE};

use mod_alloc::{ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const THREADS: usize = 4;
const ROUNDS: usize = 500;

#[test]
fn real_walks_from_many_threads_count_exactly() {
    let profiler = Profiler::start();
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for _ in 0..ROUNDS {
                    allocate_first();
                    allocate_second();
                }
            });
        }
    });
    let report = profiler.call_sites();
    if report.frame_pointers_missing {
        let notice = report.notice().unwrap_or_default();
        let finding = format!("the call-site self-test found no frame pointers ({notice})");
        common::frame_pointers_not_found(&finding, "skipped");
        return;
    }
    for size in [FIRST_SIZE, SECOND_SIZE] {
        let sites: Vec<_> = report
            .sites
            .iter()
            .filter(|s| s.bytes % size as u64 == 0 && s.bytes / size as u64 == s.count)
            .collect();
        assert_eq!(sites.len(), 1, "one site allocates {size} bytes: {report}");
        assert_eq!(sites[0].count, (THREADS * ROUNDS) as u64, "{report}");
        assert!(!sites[0].frames.is_empty());
    }
    assert!(report.frames_per_event() > 1.0, "{report:.5}");
}
