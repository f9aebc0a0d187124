//! Calls into the profiler from inside an assertion condition panic with
//! std's re-entrancy assertion, and allocations inside a condition are not
//! counted.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    println!("start");
    let profiler = dhat::Profiler::builder()
        .testing()
        .file_name("reentry.json")
        .build();
    let kept = vec![1u8; 8];
    common::outcome("stats inside condition", || {
        dhat::assert!(dhat::HeapStats::get().curr_blocks == 1)
    });
    common::outcome("event inside condition", || {
        dhat::assert!({
            dhat::ad_hoc_event(1);
            true
        })
    });
    common::outcome("allocating condition", || {
        dhat::assert!(vec![0u8; 1000].len() == 1000)
    });
    println!("after: {:?}", dhat::HeapStats::get());
    drop(kept);
    drop(profiler);
    common::list_files("end");
}
