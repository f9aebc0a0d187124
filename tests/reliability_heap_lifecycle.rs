//! Lifecycle under dhat-compatible profiling: a thousand start/stop cycles alternating heap
//! and ad hoc profiles with exact figures each time, a profiler dropped on another thread, a
//! panic unwinding through profiled code, and forked children (Linux) that allocate while
//! the parent's heap profile runs and another parent thread churns the heap profiler's lock.
//!
//! One `#[test]` runs the scenarios in order: they share the process-wide profiler.
#![cfg(feature = "dhat-compat")]

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn scratch(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mod-alloc-heap-lifecycle-{}-{label}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Parses a DHAT heap file and checks the invariants that need no outside figures.
fn check_file(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let profile: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(profile["mode"], "rust-heap");
    common::assert_heap_profile(&profile, None);
    profile
}

fn sum(profile: &serde_json::Value, key: &str) -> u64 {
    let pps = profile["pps"].as_array().unwrap();
    pps.iter().map(|pp| pp[key].as_u64().unwrap()).sum()
}

/// Whether the program points can be told apart: sanitizer runtimes (`scripts/reliability.sh`
/// sets `MOD_ALLOC_SANITIZER`) cut stacks short, so different sites may share a point there.
fn points_are_exact() -> bool {
    std::env::var_os("MOD_ALLOC_SANITIZER").is_none()
}

/// The one program point of `blocks` blocks and `bytes` bytes in all, as `[tb, tbk, eb, ebk]`.
fn point(profile: &serde_json::Value, bytes: u64, blocks: u64) -> [u64; 4] {
    let found: Vec<[u64; 4]> = profile["pps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pp| ["tb", "tbk", "eb", "ebk"].map(|key| pp[key].as_u64().unwrap()))
        .filter(|figures| figures[..2] == [bytes, blocks])
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one point of {bytes} bytes in {blocks} blocks: {profile}"
    );
    found[0]
}

fn thousand_cycles() {
    for i in 0..1_000usize {
        if i % 2 == 0 {
            let profiler = dhat::Profiler::builder().testing().build();
            let block = black_box(vec![7u8; 100 + i]);
            let held = dhat::HeapStats::get();
            drop(block);
            let stats = dhat::HeapStats::get();
            assert_eq!(
                (held.curr_blocks, held.curr_bytes),
                (1, 100 + i),
                "cycle {i}"
            );
            assert_eq!(
                (stats.total_blocks, stats.total_bytes, stats.curr_bytes),
                (1, 100 + i as u64, 0),
                "cycle {i}"
            );
            assert_eq!(
                (stats.max_blocks, stats.max_bytes),
                (1, 100 + i),
                "cycle {i}"
            );
            // Every 100th heap cycle also checks the JSON against the figures.
            if i % 100 == 0 {
                let profile: serde_json::Value =
                    serde_json::from_str(&profiler.json_string().unwrap()).unwrap();
                assert_eq!(sum(&profile, "tb"), 100 + i as u64, "cycle {i}");
                assert_eq!(sum(&profile, "gb"), 100 + i as u64, "cycle {i}");
            }
            drop(profiler);
        } else {
            let _profiler = dhat::Profiler::builder().ad_hoc().testing().build();
            dhat::ad_hoc_event(i);
            dhat::ad_hoc_event(1);
            let stats = dhat::AdHocStats::get();
            assert_eq!(
                (stats.total_events, stats.total_units),
                (2, i as u64 + 1),
                "cycle {i}"
            );
        }
    }
}

fn dropped_on_another_thread() {
    let dir = scratch("thread-drop");
    let path = dir.join("other-thread.json");
    let profiler = dhat::Profiler::builder().file_name(&path).build();
    let kept = black_box(vec![1u64; 1_000]);
    let stats = std::thread::spawn(move || {
        let stats = dhat::HeapStats::get();
        drop(kept);
        drop(profiler);
        stats
    })
    .join()
    .unwrap();
    assert!(stats.curr_bytes >= 8_000, "{stats:?}");
    let profile = check_file(&path);
    assert!(sum(&profile, "tb") >= 8_000);
    // The 8,000-byte block was freed on the other thread before that thread stopped the
    // profiler: allocated once, gone at the end.
    if points_are_exact() {
        assert_eq!(point(&profile, 8_000, 1), [8_000, 1, 0, 0], "{profile}");
    }
    // The profiler is really gone: a new one starts, and measures exactly.
    let _next = dhat::Profiler::builder().testing().build();
    drop(black_box(vec![0u8; 33]));
    assert_eq!(dhat::HeapStats::get().total_bytes, 33);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn panic_unwinds_through_profiled_code() {
    let dir = scratch("panic");
    let path = dir.join("unwound.json");
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(|| {
        let _profiler = dhat::Profiler::builder().file_name(&path).build();
        let held = black_box(vec![3u8; 5_000]);
        let nested = std::panic::catch_unwind(|| {
            let inner = black_box(vec![4u8; 700]);
            panic!("inner panic holding {} bytes", inner.len());
        });
        assert!(nested.is_err());
        drop(nested);
        let stats = dhat::HeapStats::get();
        assert!(stats.max_bytes >= 5_700, "{stats:?}");
        if black_box(true) {
            panic!("outer panic holding {} bytes", held.len());
        }
    });
    std::panic::set_hook(hook);
    assert!(caught.is_err());
    // The unwind dropped the profiler: the file is complete, and the blocks were freed (the
    // 700 bytes by the inner unwind, the 5,000 by the outer one before the profiler).
    let profile = check_file(&path);
    assert!(sum(&profile, "gb") >= 5_700, "{profile}");
    assert!(sum(&profile, "tb") >= 5_700);
    assert!(sum(&profile, "eb") <= sum(&profile, "gb"));
    if points_are_exact() {
        assert_eq!(point(&profile, 5_000, 1), [5_000, 1, 0, 0], "{profile}");
        assert_eq!(point(&profile, 700, 1), [700, 1, 0, 0], "{profile}");
    }
    // And profiling works again afterwards.
    let _next = dhat::Profiler::builder().testing().build();
    drop(black_box(vec![0u8; 10]));
    assert_eq!(dhat::HeapStats::get().total_blocks, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(target_os = "linux")]
mod fork {
    use std::hint::black_box;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::common::fork::{run_child, Child};
    use super::dhat;

    /// The child: allocate through the profiled allocator (which takes the heap profiler's
    /// lock) and check the inherited profile moved by exactly that.
    fn child() -> bool {
        let before = dhat::HeapStats::get();
        let v: Vec<u64> = black_box((0..1_000).collect());
        let during = dhat::HeapStats::get();
        drop(v);
        let after = dhat::HeapStats::get();
        during.total_bytes - before.total_bytes == 8_000
            && during.curr_bytes - before.curr_bytes == 8_000
            && after.curr_bytes == before.curr_bytes
    }

    /// Forks `rounds` times while another thread allocates and frees as fast as it can, so the
    /// heap profiler's lock is often held by that thread at the moment of the fork.
    pub fn run(rounds: usize) {
        let _profiler = dhat::Profiler::builder().testing().build();
        static STOP: AtomicBool = AtomicBool::new(false);
        static CHURNING: AtomicBool = AtomicBool::new(false);
        let churn = std::thread::spawn(|| {
            let mut n = 0u64;
            while !STOP.load(Ordering::Relaxed) {
                let v = black_box(vec![n as u8; 1 + (n % 512) as usize]);
                n += v.len() as u64;
                CHURNING.store(true, Ordering::Relaxed);
            }
            n
        });
        // The forks start once the other thread is allocating, however it is scheduled.
        while !CHURNING.load(Ordering::Relaxed) && !churn.is_finished() {
            std::thread::yield_now();
        }
        for round in 0..rounds {
            let outcome = run_child(Duration::from_secs(20), child);
            if outcome != Child::Passed {
                STOP.store(true, Ordering::Relaxed);
                panic!("forked child {round}: {outcome:?} (wrong figures, crashed or deadlocked)");
            }
        }
        STOP.store(true, Ordering::Relaxed);
        assert!(churn.join().unwrap() > 0);
    }
}

#[test]
fn heap_profiler_lifecycle() {
    // The harness's main thread allocates once as it settles into waiting for this test (its
    // channel registers a waiter); under ThreadSanitizer that can fall inside a cycle whose
    // figures are checked exactly. Give it time to settle first.
    std::thread::sleep(std::time::Duration::from_millis(300));
    thousand_cycles();
    dropped_on_another_thread();
    panic_unwinds_through_profiled_code();
    #[cfg(target_os = "linux")]
    fork::run(200);
}
