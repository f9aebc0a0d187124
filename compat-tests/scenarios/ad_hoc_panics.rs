//! Every state-machine panic around an ad hoc profiler.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    dhat::assert_is_panic(
        dhat::AdHocStats::get,
        "dhat: getting ad hoc stats when no profiler is running",
    );
    common::outcome("ad hoc stats before", dhat::AdHocStats::get);
    let profiler = dhat::Profiler::builder()
        .ad_hoc()
        .file_name("ad_hoc_panics.json")
        .build();
    dhat::assert_is_panic(
        || dhat::Profiler::builder().ad_hoc().build(),
        "dhat: creating a profiler while a profiler is already running",
    );
    common::outcome("heap stats while ad hoc", dhat::HeapStats::get);
    common::outcome("assert outside testing", || {
        dhat::assert!(std::hint::black_box(2) == 2, "sum {}", 2)
    });
    dhat::ad_hoc_event(4);
    println!("stats: {:?}", dhat::AdHocStats::get());
    drop(profiler);
    common::outcome("ad hoc stats after", dhat::AdHocStats::get);
    common::outcome("heap stats after", dhat::HeapStats::get);
    dhat::ad_hoc_event(9);
    common::list_files("end");
}
