//! The bottom_reentry pattern in ad hoc mode, under Some(4), Some(6) and
//! the default limit: the profiler is built two calls below `main`, so
//! dhat's bottom trimming stops every walk at `outer`'s call of `inner`, and
//! events that reach it through `via` share the point of those that reach
//! it from `main`. Events at the bottom of a recursion deeper than the
//! limit come from both paths too.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

#[inline(never)]
fn event(weight: usize) {
    dhat::ad_hoc_event(black_box(weight));
}

#[inline(never)]
fn deep(levels: usize, weight: usize) {
    if black_box(levels) == 0 {
        event(weight);
    } else {
        deep(levels - 1, weight);
        black_box(levels);
    }
}

/// Step 0 builds the profiler with the limit; step 1 records one event;
/// step 2 records one at the bottom of a recursion.
#[inline(never)]
fn inner(step: u8, limit: Option<usize>, profiler: &mut Option<dhat::Profiler>) {
    match black_box(step) {
        0 => {
            let name = match limit {
                Some(n) => format!("ad-hoc-reentry-{n}.json"),
                None => "ad-hoc-reentry-default.json".to_string(),
            };
            let mut builder = dhat::Profiler::builder().ad_hoc().file_name(name);
            if let Some(n) = limit {
                builder = builder.trim_backtraces(Some(n));
            }
            *profiler = Some(builder.build());
        }
        1 => event(3),
        _ => deep(black_box(12), 5),
    }
}

#[inline(never)]
fn outer(step: u8, limit: Option<usize>, profiler: &mut Option<dhat::Profiler>) {
    inner(step, limit, profiler);
    black_box(step);
}

#[inline(never)]
fn via(step: u8, limit: Option<usize>, profiler: &mut Option<dhat::Profiler>) {
    outer(step, limit, profiler);
    black_box(step);
}

fn main() {
    println!("start");
    let limits: &[Option<usize>] = black_box(&[Some(4), Some(6), None]);
    for &limit in limits {
        let mut profiler = None;
        let steps: &[u8] = black_box(&[0, 1, 2]);
        for &step in steps {
            outer(step, limit, &mut profiler);
        }
        via(1, limit, &mut profiler);
        via(2, limit, &mut profiler);
        event(7);
        println!("{limit:?}: {:?}", dhat::AdHocStats::get());
        drop(profiler);
    }
    common::list_files("end");
}
