//! Profilers one after another in one process: heap, ad hoc, heap with
//! memory output, then the Ready-state drop panics (a stale second memory
//! output call and a dropped literal dhat::Profiler).
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::mem::ManuallyDrop;

fn main() {
    println!("start");
    {
        let _heap = dhat::Profiler::new_heap();
        let v = vec![1u8; 10];
        drop(v);
    }
    std::fs::rename("dhat-heap.json", "first-heap.json").unwrap();
    {
        let _ad_hoc = dhat::Profiler::new_ad_hoc();
        dhat::ad_hoc_event(2);
        dhat::ad_hoc_event(3);
    }
    let mut memory = ManuallyDrop::new(dhat::Profiler::builder().file_name("unused.json").build());
    let kept = vec![2u8; 20];
    let text = memory.drop_and_get_memory_output();
    std::fs::write("memory.json", &text).unwrap();
    println!("memory output is {} lines", text.lines().count());
    common::outcome("second memory output", || {
        memory.drop_and_get_memory_output().len()
    });
    common::outcome("literal profiler dropped", || drop(dhat::Profiler));

    let mut testing = ManuallyDrop::new(dhat::Profiler::builder().testing().build());
    let text = testing.drop_and_get_memory_output();
    println!("testing memory output: {text:?}");
    let last = dhat::Profiler::builder().file_name("last.json").build();
    drop(kept);
    drop(last);
    common::list_files("end");
}
