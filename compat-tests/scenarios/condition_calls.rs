//! More calls into the profiler from inside an assertion's condition, each
//! refused with std's re-entrancy assertion: a nested `dhat::assert!`,
//! `AdHocStats::get`, building a profiler, taking the memory output and
//! dropping the running profiler (which then keeps running, with no value
//! left to drop: a literal `dhat::Profiler` stops it). Then the same in an
//! ad hoc testing profile.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::mem::ManuallyDrop;

fn main() {
    println!("start");
    let profiler = dhat::Profiler::builder()
        .testing()
        .file_name("calls.json")
        .build();
    let kept = vec![1u8; 8];
    common::outcome("nested assert", || {
        dhat::assert!({
            dhat::assert!(true);
            true
        })
    });
    common::outcome("ad hoc stats", || {
        dhat::assert!(dhat::AdHocStats::get().total_events == 0)
    });
    common::outcome("build", || {
        dhat::assert!({
            let inner = dhat::Profiler::new_heap();
            std::mem::forget(inner);
            true
        })
    });
    let mut profiler = ManuallyDrop::new(profiler);
    common::outcome("memory output", || {
        dhat::assert!(profiler.drop_and_get_memory_output().is_empty())
    });
    println!("still running: {:?}", dhat::HeapStats::get());
    let profiler = ManuallyDrop::into_inner(profiler);
    common::outcome("drop", move || {
        dhat::assert!({
            drop(profiler);
            true
        })
    });
    println!("after drop: {:?}", dhat::HeapStats::get());
    common::outcome("second profiler", || {
        std::mem::forget(dhat::Profiler::new_heap());
    });
    drop(kept);
    common::outcome("literal drop", || drop(dhat::Profiler));
    common::outcome("stats after", || dhat::HeapStats::get());

    let ad_hoc = dhat::Profiler::builder()
        .ad_hoc()
        .testing()
        .file_name("calls-ad-hoc.json")
        .build();
    dhat::ad_hoc_event(3);
    common::outcome("ad hoc: heap stats", || {
        dhat::assert!(dhat::HeapStats::get().curr_blocks == 0)
    });
    common::outcome("ad hoc: event", || {
        dhat::assert_eq!(
            {
                dhat::ad_hoc_event(4);
                1
            },
            1
        )
    });
    common::outcome("ad hoc: failing", || {
        dhat::assert_eq!(dhat_stats_events(), 2)
    });
    drop(ad_hoc);
    common::list_files("end");
}

fn dhat_stats_events() -> u64 {
    // Read outside any condition: the macro evaluates this twice, once in
    // the condition (where it panics) and once for the message.
    std::panic::catch_unwind(|| dhat::AdHocStats::get().total_events).unwrap_or(99)
}
