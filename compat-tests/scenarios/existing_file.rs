//! Output files that already exist, longer than the profile: dhat creates
//! each file anew (create or truncate), so nothing of the old content is
//! left after the JSON. The default heap and ad hoc names, a custom name,
//! and a testing profile whose failed assertion writes over a file.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Far longer than any profile below.
fn leave_a_long_file(name: &str) {
    std::fs::write(name, "x".repeat(100_000)).unwrap();
}

fn main() {
    println!("start");
    for name in [
        "dhat-heap.json",
        "dhat-ad-hoc.json",
        "custom.json",
        "asserted.json",
    ] {
        leave_a_long_file(name);
    }
    common::list_files("before");

    let heap = dhat::Profiler::new_heap();
    drop(std::hint::black_box(vec![1u8; 10]));
    println!("heap: {:?}", dhat::HeapStats::get());
    drop(heap);

    let ad_hoc = dhat::Profiler::new_ad_hoc();
    dhat::ad_hoc_event(5);
    println!("ad hoc: {:?}", dhat::AdHocStats::get());
    drop(ad_hoc);

    let custom = dhat::Profiler::builder().file_name("custom.json").build();
    let kept = std::hint::black_box(vec![2u8; 20]);
    drop(custom);
    drop(kept);

    let testing = dhat::Profiler::builder()
        .testing()
        .file_name("asserted.json")
        .build();
    let block = std::hint::black_box(vec![3u8; 30]);
    common::outcome("failing assert", || dhat::assert!(block.len() == 31));
    drop(testing);
    drop(block);
    common::list_files("end");
}
