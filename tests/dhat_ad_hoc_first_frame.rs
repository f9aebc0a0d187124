//! Every ad hoc program point starts at `ad_hoc_event` itself, as dhat's start at
//! `dhat::ad_hoc_event`, followed by the function that called it; and `trim_backtraces(Some(n))`
//! keeps `n` physical frames counting that first one, as dhat does.
//!
//! Optimised builds once turned the call inside `ad_hoc_event` into a tail jump, which removed
//! its frame; this checks the structure in whatever profile the test is built with. Needs
//! frame pointers: run with `RUSTFLAGS="-C force-frame-pointers=yes"`, in debug and release
//! builds, as the test command does.
#![cfg(feature = "dhat-compat")]

use std::hint::black_box;
use std::mem::ManuallyDrop;

use mod_alloc::dhat_compat as dhat;

mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const ENTRY: &str = "mod_alloc::dhat_compat::ad_hoc_event";

// A chain of named callers. Each uses its callee's result afterwards, so no call is a tail
// call (that would remove the caller's frame, in dhat as here).

#[inline(never)]
fn outer_events() -> usize {
    black_box(middle_events()) + 1
}

#[inline(never)]
fn middle_events() -> usize {
    black_box(inner_events()) + 1
}

#[inline(never)]
fn inner_events() -> usize {
    dhat::ad_hoc_event(5);
    dhat::ad_hoc_event(7);
    black_box(1)
}

fn profile_events(trim: Option<usize>) -> Vec<Vec<String>> {
    let mut profiler = ManuallyDrop::new(
        dhat::Profiler::builder()
            .ad_hoc()
            .trim_backtraces(trim)
            .build(),
    );
    black_box(outer_events());
    common::program_point_functions(&profiler.drop_and_get_memory_output())
        .into_iter()
        .map(|(_, names)| names)
        .collect()
}

#[test]
fn ad_hoc_points_start_at_ad_hoc_event_then_its_caller() {
    let module = module_path!();
    let inner = format!("{module}::inner_events");
    let middle = format!("{module}::middle_events");
    let outer = format!("{module}::outer_events");

    // The smallest cap dhat allows: four physical frames, `ad_hoc_event` being the first, so
    // the test function itself (the fifth) is cut off.
    let capped = profile_events(Some(4));
    assert_eq!(
        capped.len(),
        2,
        "one point per call site (are frame pointers forced?): {capped:#?}"
    );
    for names in &capped {
        assert_eq!(
            names,
            &[ENTRY, inner.as_str(), middle.as_str(), outer.as_str()],
            "the frames kept by trim_backtraces(Some(4))"
        );
    }

    // Without trimming or a cap, nothing of the capture's own is above the entry either.
    let untrimmed = profile_events(None);
    assert_eq!(
        untrimmed.len(),
        2,
        "one point per call site: {untrimmed:#?}"
    );
    for names in &untrimmed {
        assert!(names.len() > 4, "the whole stack: {names:#?}");
        assert_eq!(names[..4], [ENTRY, &inner, &middle, &outer], "{names:#?}");
    }
}
