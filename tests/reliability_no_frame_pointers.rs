//! Call-site capture in a build that may lack frame pointers: deep and recursive call
//! chains, several threads, no crash, a report that balances, and a notice that agrees with
//! the build.
//!
//! `scripts/reliability.sh` builds this file in release twice: with
//! `-C force-frame-pointers=no` and `MOD_ALLOC_EXPECT_FRAME_POINTERS=missing` (the self-test
//! must say they are missing, and the notice must say how to fix it), and with
//! `-C force-frame-pointers=yes` and `=present` (they must be found). Elsewhere, with the
//! variable unset, only the consistency checks apply.
#![cfg(feature = "backtraces")]

use std::hint::black_box;

use mod_alloc::{ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

#[inline(never)]
fn recurse(depth: usize, bytes: usize) -> usize {
    if depth == 0 {
        return black_box(vec![0u8; bytes]).len();
    }
    black_box(recurse(depth - 1, bytes)) + 1
}

#[test]
fn walks_without_frame_pointers_end_cleanly_and_say_so() {
    let expectation = std::env::var("MOD_ALLOC_EXPECT_FRAME_POINTERS").unwrap_or_default();
    let profiler = Profiler::start();
    let mut expected_events = 0u64;
    for depth in [0, 1, 5, 50, 200] {
        for bytes in [1, 24, 4096] {
            recurse(depth, bytes);
            expected_events += 1;
        }
    }
    let threads: Vec<_> = (0..4)
        .map(|i| std::thread::spawn(move || recurse(10 * i, 64)))
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let report = profiler.call_sites();
    drop(profiler);

    // Every event is either at a site or counted as unattributed.
    let at_sites: u64 = report.sites.iter().map(|site| site.count).sum();
    assert_eq!(
        at_sites + report.unattributed_events,
        report.events,
        "{report}"
    );
    assert!(report.events >= expected_events, "{report}");
    assert!(report.sites.iter().all(|site| site.frames.len() <= 64));

    let notice = report.notice();
    match expectation.as_str() {
        "missing" => {
            assert!(report.frame_pointers_missing, "{report}");
            let notice = notice.expect("a notice when frame pointers are missing");
            assert!(
                notice.contains("force-frame-pointers=yes"),
                "the notice says how to fix it: {notice}"
            );
            assert!(!notice.contains('\n'), "{notice}");
        }
        "present" => {
            assert!(!report.frame_pointers_missing, "{report}");
            assert!(report.attributed_events() > 0, "{report}");
        }
        // Unknown build: the notice must agree with the self-test.
        _ => assert!(
            !report.frame_pointers_missing || notice.is_some(),
            "{report}"
        ),
    }
}
