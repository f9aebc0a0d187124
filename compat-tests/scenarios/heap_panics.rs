//! Every state-machine panic around a heap profiler, checked both with
//! dhat's own assert_is_panic and by printing the payload kind and text.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let no_profiler = "dhat: getting heap stats when no profiler is running";
    dhat::assert_is_panic(dhat::HeapStats::get, no_profiler);
    common::outcome("stats before", dhat::HeapStats::get);
    common::outcome("ad hoc stats before", dhat::AdHocStats::get);
    common::outcome("assert before", || dhat::assert!(true));
    dhat::assert_is_panic(
        || dhat::assert!(true),
        "dhat: asserting when no profiler is running",
    );

    let profiler = dhat::Profiler::builder()
        .file_name("heap_panics.json")
        .build();
    dhat::assert_is_panic(
        dhat::Profiler::new_heap,
        "dhat: creating a profiler while a profiler is already running",
    );
    common::outcome("second heap profiler", dhat::Profiler::new_heap);
    common::outcome("second ad hoc profiler", dhat::Profiler::new_ad_hoc);
    dhat::assert_is_panic(
        dhat::AdHocStats::get,
        "dhat: getting ad hoc stats while doing heap profiling",
    );
    common::outcome("assert outside testing", || dhat::assert!(true));
    common::outcome("assert_eq outside testing", || dhat::assert_eq!(1, 1));
    common::outcome("assert_ne outside testing", || {
        dhat::assert_ne!(1, 2, "x{}", 1)
    });
    dhat::ad_hoc_event(10);
    common::outcome("stats while running", dhat::HeapStats::get);
    common::outcome("assert_is_panic without a panic", || {
        dhat::assert_is_panic(|| 5, "x")
    });
    common::outcome("assert_is_panic with another message", || {
        dhat::assert_is_panic(|| panic!("one"), "two")
    });
    common::outcome("assert_is_panic with a non-string payload", || {
        dhat::assert_is_panic(|| std::panic::panic_any(5u32), "five")
    });
    println!("stats: {:?}", dhat::HeapStats::get());
    drop(profiler);

    dhat::assert_is_panic(dhat::HeapStats::get, no_profiler);
    common::outcome("assert after drop", || dhat::assert!(false));
    common::list_files("end");
}
