//! The flow of dhat's own tests/ad-hoc.rs: events before, during and after
//! an ad hoc profiler (trim Some(usize::MAX), eprint_json), allocations that
//! must not count, then a trivial heap profiler in sequence.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[inline(never)]
fn f2() {
    dhat::ad_hoc_event(1);
    dhat::ad_hoc_event(2);
}

#[inline(never)]
fn f1() {
    f2();
    dhat::ad_hoc_event(3);
}

fn main() {
    dhat::ad_hoc_event(3);
    {
        let _profiler = dhat::Profiler::builder()
            .ad_hoc()
            .trim_backtraces(Some(usize::MAX))
            .eprint_json()
            .build();
        println!("initial: {:?}", dhat::AdHocStats::get());
        dhat::ad_hoc_event(100);
        f1();
        let v: Vec<u8> = Vec::with_capacity(100);
        std::hint::black_box(&v);
        let stats = dhat::AdHocStats::get();
        println!("final: {stats:?}");
        assert_eq!((stats.total_events, stats.total_units), (4, 106));
    }
    dhat::ad_hoc_event(5);
    let _heap = dhat::Profiler::new_heap();
}
