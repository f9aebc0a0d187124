//! No #[global_allocator] at all: ad hoc profiling works on its own (the
//! usual set-up for it), and a heap profiler sees nothing.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[inline(never)]
fn inner(w: usize) {
    dhat::ad_hoc_event(w);
    std::hint::black_box(w);
}

#[inline(never)]
fn outer(w: usize) {
    inner(w);
    std::hint::black_box(w);
}

fn main() {
    {
        let _p = dhat::Profiler::builder().ad_hoc().file_name("adhoc.json").build();
        for w in [1usize, 2, 3] {
            outer(w);
        }
        dhat::ad_hoc_event(10);
        let v = vec![1u8; 100];
        println!("ad hoc: {:?}", dhat::AdHocStats::get());
        drop(v);
    }
    {
        let _p = dhat::Profiler::builder().file_name("heap.json").build();
        let v = vec![1u8; 100];
        println!("heap: {:?}", dhat::HeapStats::get());
        drop(v);
    }
    {
        let _p = dhat::Profiler::builder()
            .ad_hoc()
            .trim_backtraces(Some(4))
            .file_name("adhoc4.json")
            .build();
        outer(5);
    }
    common::list_files("end");
}
