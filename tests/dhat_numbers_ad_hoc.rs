//! dhat's ad hoc figures through the drop-in API (dhat's `tests/ad-hoc.rs`).
//!
//! Its call sites are told apart by frame-pointer walks: the test command runs it with
//! `-C force-frame-pointers=yes`.
#![cfg(feature = "dhat-compat")]

use std::hint::black_box;
use std::mem::ManuallyDrop;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn pps(json: &serde_json::Value) -> Vec<serde_json::Value> {
    json["pps"].as_array().unwrap().clone()
}

fn f2() {
    dhat::ad_hoc_event(1);
    dhat::ad_hoc_event(2);
}

fn f1() {
    f2();
    dhat::ad_hoc_event(3);
}

#[test]
fn ad_hoc_figures_match_dhat() {
    dhat::ad_hoc_event(3); // before the profiler: ignored
    let mut profiler = ManuallyDrop::new(
        dhat::Profiler::builder()
            .ad_hoc()
            .trim_backtraces(Some(usize::MAX))
            .build(),
    );
    let stats = dhat::AdHocStats::get();
    assert_eq!((stats.total_events, stats.total_units), (0, 0));
    dhat::ad_hoc_event(100);
    f1();
    black_box(Vec::<u8>::with_capacity(100));
    let stats = dhat::AdHocStats::get();
    assert_eq!((stats.total_events, stats.total_units), (4, 106));
    let json: serde_json::Value =
        serde_json::from_str(&profiler.drop_and_get_memory_output()).unwrap();
    dhat::ad_hoc_event(5); // after: ignored
    let mut weights: Vec<u64> = pps(&json)
        .iter()
        .map(|pp| pp["tb"].as_u64().unwrap())
        .collect();
    weights.sort_unstable();
    assert_eq!(weights, [1, 2, 3, 100]);
    assert!(pps(&json)
        .iter()
        .all(|pp| pp["tbk"] == 1 && pp.get("mb").is_none()));
    assert_ne!(json["te"], 0);
    assert!(json.get("tg").is_none());
}
