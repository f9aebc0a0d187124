//! Looking at a profile does not change the figures: the profiler's own work (documents,
//! symbols, the JSON text, the session itself) is never recorded, and whatever it hands to the
//! caller is recorded both ways or not at all. Checked with the heap profile's `HeapStats` and
//! with tier 1's per-thread counters, which see every allocation and free of this thread.
#![cfg(feature = "dhat-compat")]

use mod_alloc::dhat_compat as dhat;
use mod_alloc::{measure_thread, AllocStats, ModAlloc};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

/// Blocks and bytes this thread allocated and freed in `stats`, for messages and checks.
fn events(stats: &AllocStats) -> (u64, u64, u64, i64) {
    (
        stats.alloc_count,
        stats.realloc_count,
        stats.dealloc_count,
        stats.net_bytes,
    )
}

/// One test, so that the two profilers run one after the other.
#[test]
fn looking_at_a_profile_does_not_change_it() {
    reports_of_a_running_profiler_leave_the_figures_alone();
    a_whole_profiler_run_balances();
}

fn reports_of_a_running_profiler_leave_the_figures_alone() {
    let path = std::env::temp_dir().join(format!("mod-alloc-accounting-{}", std::process::id()));
    let profiler = dhat::Profiler::builder().testing().build();
    let kept = std::hint::black_box(vec![7u8; 100]);
    let before = dhat::HeapStats::get();

    // To a writer that allocates nothing: no event at all.
    let (written, stats) = measure_thread(|| profiler.write_json_to(std::io::sink()).is_ok());
    assert!(written);
    assert_eq!(events(&stats), (0, 0, 0, 0), "write_json_to: {stats:?}");

    // To a file, through `ModAlloc`: no event either.
    let (written, stats) = measure_thread(|| GLOBAL.write_dhat_json(&path).is_ok());
    assert!(written);
    assert_eq!(events(&stats), (0, 0, 0, 0), "write_dhat_json: {stats:?}");

    // The string is the caller's: the counters see it made, one block, and freed. The
    // heap profile sees neither (checked below).
    let (length, stats) = measure_thread(|| {
        let text = profiler.json_string().unwrap();
        assert!(text.starts_with("{\n  \"dhatFileVersion\": 2"));
        assert_eq!(text.capacity(), text.len());
        text.len()
    });
    assert!(length > 0);
    assert_eq!(
        events(&stats),
        (1, 0, 1, 0),
        "json_string: the string's allocation and free; {stats:?}"
    );

    // None of it reached the heap profile.
    assert_eq!(dhat::HeapStats::get(), before);
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert!(on_disk.starts_with("{\n\"dhatFileVersion\": 2"));
    std::fs::remove_file(&path).unwrap();
    drop(kept);
    drop(profiler);
}

fn a_whole_profiler_run_balances() {
    // Build, record, stop with the memory output: every block the run allocated on this
    // thread is freed, so the counters must balance; the caller's copy of the output is
    // one recorded block of its exact length.
    let (length, stats) = measure_thread(|| {
        let mut profiler = std::mem::ManuallyDrop::new(
            dhat::Profiler::builder()
                .file_name("unused-name.json")
                .build(),
        );
        drop(std::hint::black_box(vec![1u8; 64]));
        let output = profiler.drop_and_get_memory_output();
        assert!(output.starts_with("{\n  \"dhatFileVersion\": 2"));
        output.len()
    });
    assert!(length > 0);
    // The caller's path (allocated by `file_name`, freed by `build`), the vector, and the
    // copy of the output: three blocks, each freed.
    assert_eq!(events(&stats), (3, 0, 3, 0), "memory output run: {stats:?}");

    // Testing mode, stopped by a plain drop.
    let ((), stats) = measure_thread(|| {
        let profiler = dhat::Profiler::builder().testing().build();
        drop(std::hint::black_box(vec![1u8; 64]));
        drop(profiler);
    });
    assert_eq!(events(&stats), (1, 0, 1, 0), "testing-mode run: {stats:?}");
}
