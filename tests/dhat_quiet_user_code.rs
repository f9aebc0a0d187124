//! What dhat leaves out of its profile because it is the user's code (an assertion's
//! condition, the panic of a misused profiler) stays out of the heap profile, but the
//! counters still see it, allocations and frees alike: a block allocated unseen and freed in
//! view would count as a free with no allocation. One test: the profiler is process-wide.
#![cfg(feature = "dhat-compat")]

use mod_alloc::dhat_compat as dhat;
use mod_alloc::ThreadProfiler;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn user_code_that_dhat_ignores_is_still_counted() {
    // The expected panics print nothing; installed outside every window.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let expected = info
            .payload()
            .downcast_ref::<&str>()
            .is_some_and(|message| {
                message.starts_with("dhat:") || message.starts_with("internal error")
            });
        if !expected {
            default_hook(info);
        }
    }));
    caught_state_panics_leave_the_counters_balanced();
    an_assertion_condition_is_counted_but_not_profiled();
    drop(std::panic::take_hook());
}

fn caught_state_panics_leave_the_counters_balanced() {
    let path = std::env::temp_dir().join(format!(
        "mod-alloc-quiet-user-code-{}.json",
        std::process::id()
    ));
    let scope = ThreadProfiler::start();
    // Stats with no profiler running.
    assert!(std::panic::catch_unwind(dhat::HeapStats::get).is_err());
    // Dropping a literal profiler while none runs.
    assert!(std::panic::catch_unwind(|| drop(dhat::Profiler)).is_err());
    let profiler = dhat::Profiler::builder().testing().file_name(&path).build();
    // A second profiler while one runs.
    assert!(std::panic::catch_unwind(|| dhat::Profiler::builder().testing().build()).is_err());
    let profiled = dhat::HeapStats::get();
    drop(profiler);
    let stats = scope.stop();
    assert_eq!((stats.net_blocks, stats.net_bytes), (0, 0), "{stats:?}");
    assert!(
        stats.alloc_count >= 3,
        "each payload is allocated: {stats:?}"
    );
    // As in dhat, the running profiler did not see the panic's allocations.
    assert_eq!(profiled.total_blocks, 0, "{profiled:?}");
}

fn an_assertion_condition_is_counted_but_not_profiled() {
    let path = std::env::temp_dir().join(format!(
        "mod-alloc-quiet-condition-{}.json",
        std::process::id()
    ));
    let profiler = dhat::Profiler::builder().testing().file_name(&path).build();
    let mut kept = vec![0u8; 100];
    let before = dhat::HeapStats::get();
    let scope = ThreadProfiler::start();
    dhat::assert!({
        // A free of a block from before the condition, and a block that outlives it.
        drop(std::mem::take(&mut kept));
        kept = vec![0u8; 300];
        true
    });
    let stats = scope.stop();
    // The counters see both calls.
    assert_eq!(
        (stats.alloc_count, stats.dealloc_count),
        (1, 1),
        "{stats:?}"
    );
    assert_eq!(stats.net_bytes, 200, "{stats:?}");
    // dhat's profile sees neither.
    let after = dhat::HeapStats::get();
    assert_eq!(after.total_blocks, before.total_blocks, "{after:?}");
    assert_eq!(after.curr_bytes, before.curr_bytes, "{after:?}");
    drop(kept);
    drop(profiler);
}
