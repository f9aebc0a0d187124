//! The annotated ad hoc run: events before the profiler are ignored, tail
//! and non-tail calls, a zero weight, a custom file name.
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
    dhat::ad_hoc_event(999);
    let profiler = dhat::Profiler::builder()
        .ad_hoc()
        .file_name("events.json")
        .build();
    dhat::ad_hoc_event(100);
    for _ in 0..3 {
        f1();
    }
    dhat::ad_hoc_event(0);
    let big = vec![1u8; 4096];
    let stats = dhat::AdHocStats::get();
    println!("stats: {stats:?}");
    assert_eq!((stats.total_events, stats.total_units), (11, 118));
    drop(profiler);
    drop(big);
    dhat::ad_hoc_event(1);
}
