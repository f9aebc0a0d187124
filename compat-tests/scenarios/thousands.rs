//! Summary numbers around the thousands separators: 0, 999, 1,000,
//! 1,000,000 and a large ad hoc weight, in heap and ad hoc profilers
//! run one after another.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[inline(never)]
fn bytes(n: usize) -> Vec<u8> {
    std::hint::black_box(vec![1u8; n])
}

fn main() {
    for (i, n) in [999usize, 1000, 1_000_000, 12_345_678].into_iter().enumerate() {
        let _p = dhat::Profiler::builder()
            .file_name(format!("heap-{i}.json"))
            .build();
        let v = bytes(n);
        drop(v);
    }
    {
        let _p = dhat::Profiler::builder().file_name("many.json").build();
        let mut keep = Vec::new();
        for _ in 0..1000 {
            keep.push(std::hint::black_box(Box::new(1u8)));
        }
        println!("stats: {:?}", dhat::HeapStats::get());
    }
    for (i, w) in [0usize, 999, 1000, 1_000_000, usize::MAX].into_iter().enumerate() {
        let _p = dhat::Profiler::builder()
            .ad_hoc()
            .file_name(format!("adhoc-{i}.json"))
            .build();
        dhat::ad_hoc_event(w);
        dhat::ad_hoc_event(0);
        println!("ad hoc {w}: {:?}", dhat::AdHocStats::get());
    }
    {
        let _p = dhat::Profiler::builder().ad_hoc().file_name("adhoc-many.json").build();
        for _ in 0..1001 {
            dhat::ad_hoc_event(1000);
        }
    }
    common::list_files("end");
}
