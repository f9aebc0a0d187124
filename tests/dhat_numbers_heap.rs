//! dhat's heap figures through the drop-in API: `HeapStats` after each step of dhat's
//! `heap1` run, dhat's `tests/heap.rs` numbers, and the JSON invariants.
//!
//! Frames are compared only where the test is built with frame pointers; the figures always.
#![cfg(feature = "dhat-compat")]

mod common;

use std::hint::black_box;
use std::mem::ManuallyDrop;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

type Figures = (u64, u64, usize, usize, usize, usize);

fn figures() -> Figures {
    let s = dhat::HeapStats::get();
    (
        s.total_blocks,
        s.total_bytes,
        s.curr_blocks,
        s.curr_bytes,
        s.max_blocks,
        s.max_bytes,
    )
}

fn pps(json: &serde_json::Value) -> Vec<serde_json::Value> {
    json["pps"].as_array().unwrap().clone()
}

/// Σ over program points equals the totals, per-site peaks bound the other figures, and no
/// two program points share a frame list.
fn check_invariants(json: &serde_json::Value, end: Figures) {
    let totals = common::Totals {
        total_blocks: end.0,
        total_bytes: end.1,
        curr_blocks: end.2 as u64,
        curr_bytes: end.3 as u64,
        max_blocks: end.4 as u64,
        max_bytes: end.5 as u64,
    };
    common::assert_heap_profile(json, Some(totals));
}

#[test]
fn heap_figures_match_dhat() {
    // dhat's heap1, step by step.
    let mut profiler = ManuallyDrop::new(
        dhat::Profiler::builder()
            .trim_backtraces(Some(usize::MAX))
            .build(),
    );
    assert_eq!(figures(), (0, 0, 0, 0, 0, 0));
    let a = black_box(vec![7u8; 100]);
    let mut b: Vec<u8> = Vec::with_capacity(10);
    b.extend_from_slice(&[1; 10]);
    b.reserve_exact(30);
    assert_eq!(figures(), (3, 150, 2, 140, 2, 140));
    drop(a);
    b.shrink_to(20);
    assert_eq!(figures(), (4, 170, 1, 20, 2, 140));
    for i in 0..black_box(5) {
        black_box(Box::new(i as u64));
    }
    assert_eq!(figures(), (9, 210, 1, 20, 2, 140));
    let keep = black_box(Box::new([0u8; 64]));
    let end = figures();
    assert_eq!(end, (10, 274, 2, 84, 2, 140));
    let json: serde_json::Value =
        serde_json::from_str(&profiler.drop_and_get_memory_output()).unwrap();
    check_invariants(&json, end);
    drop((b, keep));

    // dhat's tests/heap.rs.
    let mut v1 = vec![1u32, 2, 3, 4];
    let v2 = vec![1u32, 2, 3, 4];
    let mut v3 = vec![1u32, 2, 3, 4];
    let mut v4 = vec![1u32, 2, 3, 4];
    let mut profiler = ManuallyDrop::new(
        dhat::Profiler::builder()
            .trim_backtraces(Some(usize::MAX))
            .build(),
    );
    assert_eq!(figures(), (0, 0, 0, 0, 0, 0));
    drop(std::mem::take(&mut v1));
    v3.push(5);
    let v5 = black_box(vec![0u8; 1000]);
    let mut v6 = black_box(vec![0u8; 200]);
    v6.reserve(200);
    // dhat's own slowness gives v5 a lifetime above 1 µs; ours must be made to.
    std::thread::sleep(std::time::Duration::from_millis(3));
    drop(v5);
    for i in 0..black_box(10) {
        black_box(vec![i as u8]);
    }
    let end = figures();
    assert_eq!(end, (14, 1642, 2, 432, 3, 1432));
    drop(v6);
    let json: serde_json::Value =
        serde_json::from_str(&profiler.drop_and_get_memory_output()).unwrap();
    let mut points = pps(&json);
    points.sort_by_key(|pp| std::cmp::Reverse(pp["tb"].as_u64()));
    let tuple = |pp: &serde_json::Value| -> Vec<u64> {
        ["tb", "tbk", "mb", "mbk", "gb", "gbk", "eb", "ebk"]
            .iter()
            .map(|k| pp[*k].as_u64().unwrap())
            .collect()
    };
    assert_eq!(tuple(&points[0]), [1000, 1, 1000, 1, 1000, 1, 0, 0]);
    assert_eq!(tuple(&points[1]), [600, 2, 400, 1, 400, 1, 0, 0]);
    assert_eq!(tuple(&points[2]), [32, 1, 32, 1, 32, 1, 32, 1]);
    assert_eq!(tuple(&points[3]), [10, 10, 1, 1, 0, 0, 0, 0]);
    let v5_lifetime = points[0]["tl"].as_u64().unwrap();
    assert!(
        (3_000..1_000_000).contains(&v5_lifetime),
        "tl {v5_lifetime} µs"
    );
    // v6 was freed after the figures were read.
    let mut after_drop = end;
    (after_drop.2, after_drop.3) = (1, 32);
    check_invariants(&json, after_drop);
    drop((v2, v3));
    v4.push(5);
}
