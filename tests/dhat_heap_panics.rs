//! Every state-machine panic of a heap profiler, with dhat's exact messages (dhat's
//! `tests/heap-panics.rs`, extended). One process: the checks run in order.
#![cfg(feature = "dhat-compat")]

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn assert_static_str_panic(f: impl FnOnce() + std::panic::UnwindSafe, expected: &str) {
    let payload = std::panic::catch_unwind(f).expect_err("expected a panic");
    assert_eq!(
        payload.downcast_ref::<&'static str>().copied(),
        Some(expected)
    );
}

#[test]
fn heap_profiler_state_panics() {
    // Nothing running.
    dhat::assert_is_panic(
        dhat::HeapStats::get,
        "dhat: getting heap stats when no profiler is running",
    );
    dhat::assert_is_panic(
        || dhat::assert!(true),
        "dhat: asserting when no profiler is running",
    );
    dhat::assert_is_panic(
        || dhat::assert_eq!(1, 1),
        "dhat: asserting when no profiler is running",
    );
    dhat::assert_is_panic(
        || dhat::assert_ne!(1, 2),
        "dhat: asserting when no profiler is running",
    );
    // Dropping a literal profiler while nothing runs.
    dhat::assert_is_panic(
        || drop(dhat::Profiler),
        "internal error: entered unreachable code",
    );
    // `ad_hoc_event` with nothing running is silently ignored.
    dhat::ad_hoc_event(3);

    {
        let path =
            std::env::temp_dir().join(format!("mod-alloc-heap-panics-{}.json", std::process::id()));
        let _profiler = dhat::Profiler::builder().file_name(&path).build();

        dhat::assert_is_panic(
            || dhat::Profiler::builder().build(),
            "dhat: creating a profiler while a profiler is already running",
        );
        dhat::assert_is_panic(
            dhat::Profiler::new_ad_hoc,
            "dhat: creating a profiler while a profiler is already running",
        );
        assert_static_str_panic(
            || drop(dhat::Profiler::new_heap()),
            "dhat: creating a profiler while a profiler is already running",
        );
        dhat::assert_is_panic(
            dhat::AdHocStats::get,
            "dhat: getting ad hoc stats while doing heap profiling",
        );
        dhat::assert_is_panic(
            || dhat::assert!(true),
            "dhat: asserting while not in testing mode",
        );
        assert_static_str_panic(
            || dhat::assert!(true, "{}", 1),
            "dhat: asserting while not in testing mode",
        );
        // The state errors left the profiler running.
        let stats = dhat::HeapStats::get();
        assert!(stats.total_bytes >= stats.curr_bytes as u64);
        dhat::ad_hoc_event(5); // heap mode: ignored
        drop(_profiler);
        assert!(
            path.exists(),
            "a non-testing heap profiler writes its file at drop"
        );
        std::fs::remove_file(&path).unwrap();
    }

    // Ready again: the same messages as before, and profilers may run again.
    dhat::assert_is_panic(
        dhat::HeapStats::get,
        "dhat: getting heap stats when no profiler is running",
    );
    dhat::assert_is_panic(
        dhat::AdHocStats::get,
        "dhat: getting ad hoc stats when no profiler is running",
    );
    dhat::assert_is_panic(
        || dhat::assert!(true),
        "dhat: asserting when no profiler is running",
    );

    // Calls from inside an assertion condition use std's message for dhat's internal check.
    {
        let _profiler = dhat::Profiler::builder().testing().build();
        let inner = "assertion failed: !ignore_allocs.was_already_ignoring_allocs";
        dhat::assert_is_panic(
            || dhat::assert!(dhat::HeapStats::get().curr_blocks == 0),
            inner,
        );
        dhat::assert_is_panic(
            || {
                dhat::assert!({
                    dhat::ad_hoc_event(1);
                    true
                })
            },
            inner,
        );
        dhat::assert_is_panic(
            || dhat::assert!(dhat::AdHocStats::get().total_events == 0),
            inner,
        );
        dhat::assert_is_panic(
            || {
                dhat::assert!({
                    std::mem::forget(dhat::Profiler::builder().build());
                    true
                })
            },
            inner,
        );
        dhat::assert_is_panic(
            || {
                dhat::assert!({
                    dhat::assert!(true);
                    true
                })
            },
            inner,
        );
        assert_static_str_panic(
            || dhat::assert!(dhat::HeapStats::get().curr_blocks == 0),
            inner,
        );
        // Stopping a profiler inside a condition is refused too, and stops nothing.
        dhat::assert_is_panic(
            || {
                dhat::assert!({
                    drop(dhat::Profiler);
                    true
                })
            },
            inner,
        );
        dhat::assert_is_panic(
            || {
                dhat::assert!({
                    let mut profiler = std::mem::ManuallyDrop::new(dhat::Profiler);
                    profiler.drop_and_get_memory_output().is_empty()
                })
            },
            inner,
        );
        // The panicking condition left the thread outside the condition and the profiler
        // running, still in testing mode.
        let _ = dhat::HeapStats::get();
        dhat::assert!(true);
    }

    // `assert_is_panic` itself.
    dhat::assert_is_panic(
        || dhat::assert_is_panic(|| 1, "x"),
        "assert_is_panic: Not an error",
    );
    dhat::assert_is_panic(
        || dhat::assert_is_panic(|| std::panic::panic_any(7u8), "x"),
        "assert_is_panic: Not a string: Any { .. }",
    );
    dhat::assert_is_panic(|| panic!("{}", String::from("owned")), "owned");
    // A payload other than the one expected fails as `std::assert_eq!(expected, actual)`
    // does, expected on the left, whichever kind of string it is. Every check above relies
    // on this.
    let mismatches: [fn(); 2] = [
        || dhat::assert_is_panic(|| std::panic::panic_any("actual"), "expected"),
        || dhat::assert_is_panic(|| panic!("{}", String::from("actual")), "expected"),
    ];
    let (expected, actual) = (std::hint::black_box("expected"), "actual");
    let reference = std::panic::catch_unwind(|| std::assert_eq!(expected, actual))
        .expect_err("the strings differ");
    let reference = reference
        .downcast_ref::<String>()
        .expect("std's message is a String");
    for mismatch in mismatches {
        let payload = std::panic::catch_unwind(mismatch).expect_err("a mismatch must panic");
        assert_eq!(payload.downcast_ref::<String>(), Some(reference));
    }
}
