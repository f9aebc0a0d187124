//! dhat's ad hoc figures through the drop-in API (dhat's `tests/ad-hoc.rs`).
//!
//! Its call sites are told apart by frame-pointer walks, so the per-site weights are checked
//! when it is built with `-C force-frame-pointers=yes` (as the test command does); without
//! frame pointers only their sum is, unless `MOD_ALLOC_EXPECT_FRAME_POINTERS=present` says the
//! build has them, and then it fails.
#![cfg(feature = "dhat-compat")]

mod common;

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
    // Four call sites, told apart only when the walk reaches this file's functions (a build
    // with `-C force-frame-pointers=yes`); otherwise identical short stacks merge into one.
    let walked_into_this_file = json["ftbl"]
        .as_array()
        .unwrap()
        .iter()
        .any(|frame| frame.as_str().unwrap().contains("dhat_numbers_ad_hoc::f2"));
    if walked_into_this_file {
        assert_eq!(weights, [1, 2, 3, 100]);
    } else {
        common::frame_pointers_not_found(
            "no frame of this file's functions in the ad hoc profile",
            "checking only the summed weights",
        );
        assert_eq!(weights.iter().sum::<u64>(), 106);
    }
    let events_per_site = if walked_into_this_file { 1 } else { 4 };
    assert!(pps(&json)
        .iter()
        .all(|pp| pp["tbk"] == events_per_site && pp.get("mb").is_none()));
    assert_ne!(json["te"], 0);
    assert!(json.get("tg").is_none());
}
