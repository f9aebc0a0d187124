//! dhat's tests/assert-failure.rs, caught: a passing assert, a failing one
//! that writes the file, the "after the profiler has asserted" panics, then a
//! second testing profiler whose assert!(false) fails too.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    println!("start");
    let profiler = dhat::Profiler::builder().testing().build();
    let v1 = vec![1u8; 16];
    let v2 = vec![2u8; 16];
    let stats = dhat::HeapStats::get();
    common::outcome("curr_blocks == 2", || dhat::assert!(stats.curr_blocks == 2));
    common::list_files("after passing assert");
    common::outcome("curr_bytes == 31", || dhat::assert!(stats.curr_bytes == 31));
    common::list_files("after failing assert");
    common::outcome("assert with args after failure", || {
        dhat::assert!(stats.curr_bytes == 32, "after {}", "failure")
    });
    common::outcome("stats after failure", dhat::HeapStats::get);
    dhat::ad_hoc_event(3);
    drop(profiler);
    drop((v1, v2));
    std::fs::rename("dhat-heap.json", "first.json").unwrap();

    let second = dhat::Profiler::builder()
        .testing()
        .file_name("second.json")
        .build();
    common::outcome("assert false", || dhat::assert!(false));
    drop(second);
    common::list_files("end");
}
