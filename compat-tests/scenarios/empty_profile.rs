//! Profilers that see nothing: a heap profiler with no allocations, an ad
//! hoc profiler with no events, and a testing profiler dropped untouched.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    println!("start");
    let heap = dhat::Profiler::builder()
        .file_name("empty-heap.json")
        .build();
    println!("heap: {:?}", dhat::HeapStats::get());
    drop(heap);
    let ad_hoc = dhat::Profiler::builder()
        .ad_hoc()
        .file_name("empty-ad-hoc.json")
        .build();
    println!("ad hoc: {:?}", dhat::AdHocStats::get());
    drop(ad_hoc);
    let testing = dhat::Profiler::builder().testing().build();
    drop(testing);
    let memory = dhat::Profiler::builder().build();
    let mut memory = std::mem::ManuallyDrop::new(memory);
    std::fs::write("empty-memory.json", memory.drop_and_get_memory_output()).unwrap();
    common::list_files("end");
}
