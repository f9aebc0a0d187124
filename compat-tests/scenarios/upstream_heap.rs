//! The flow of dhat's own tests/heap.rs: blocks from before the profiler,
//! a realloc of one of them, the global peak at a realloc, trim
//! Some(usize::MAX), eprint_json and drop_and_get_memory_output, then an ad
//! hoc profiler in sequence.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let v1 = vec![1u32, 2, 3, 4];
    let v2 = vec![1u32, 2, 3, 4];
    let mut v3 = vec![1u32, 2, 3, 4];
    let mut v4 = vec![1u32, 2, 3, 4];
    println!("start");

    let mut profiler = std::mem::ManuallyDrop::new(
        dhat::Profiler::builder()
            .trim_backtraces(Some(usize::MAX))
            .eprint_json()
            .build(),
    );
    let stats = dhat::HeapStats::get();
    println!("initial: {stats:?}");

    drop(v1);
    v3.push(5);
    let v5 = vec![0u8; 1000];
    let mut v6 = vec![0u8; 200];
    v6.reserve(200);
    drop(v5);
    let bound = std::hint::black_box(10);
    let mut v7 = Vec::new();
    for i in 0..bound {
        v7.push(vec![i as u8]);
    }
    drop(v7);
    let stats = dhat::HeapStats::get();
    println!("after work: {stats:?}");
    drop(v6);

    let memory = profiler.drop_and_get_memory_output();
    drop(v2);
    v4.push(6);
    std::fs::write("memory-output.json", memory).unwrap();
    println!("v3 {} v4 {}", v3.len(), v4.len());

    let _ad_hoc = dhat::Profiler::new_ad_hoc();
    dhat::ad_hoc_event(1);
}
