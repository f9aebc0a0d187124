//! Every state-machine panic of an ad hoc profiler, with dhat's exact messages (dhat's
//! `tests/ad-hoc-panics.rs`, extended). One process: the checks run in order.
#![cfg(feature = "dhat-compat")]

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn ad_hoc_profiler_state_panics() {
    dhat::assert_is_panic(
        dhat::AdHocStats::get,
        "dhat: getting ad hoc stats when no profiler is running",
    );
    dhat::assert_is_panic(
        || dhat::assert!(true),
        "dhat: asserting when no profiler is running",
    );

    {
        let path = std::env::temp_dir().join(format!(
            "mod-alloc-ad-hoc-panics-{}.json",
            std::process::id()
        ));
        let _profiler = dhat::Profiler::builder().ad_hoc().file_name(&path).build();
        dhat::assert_is_panic(
            dhat::Profiler::new_ad_hoc,
            "dhat: creating a profiler while a profiler is already running",
        );
        dhat::assert_is_panic(
            dhat::Profiler::new_heap,
            "dhat: creating a profiler while a profiler is already running",
        );
        dhat::assert_is_panic(
            dhat::HeapStats::get,
            "dhat: getting heap stats while doing ad hoc profiling",
        );
        dhat::assert_is_panic(
            || dhat::assert!(true),
            "dhat: asserting while not in testing mode",
        );
        dhat::assert_is_panic(
            || dhat::assert_eq!(1, 1),
            "dhat: asserting while not in testing mode",
        );
        dhat::ad_hoc_event(0);
        let _ = dhat::AdHocStats::get();
        drop(_profiler);
        assert!(
            path.exists(),
            "a non-testing ad hoc profiler writes its file at drop"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["mode"], "rust-ad-hoc");
        std::fs::remove_file(&path).unwrap();
    }

    dhat::assert_is_panic(
        dhat::AdHocStats::get,
        "dhat: getting ad hoc stats when no profiler is running",
    );
    dhat::assert_is_panic(
        || dhat::assert_ne!(1, 2),
        "dhat: asserting when no profiler is running",
    );
}
