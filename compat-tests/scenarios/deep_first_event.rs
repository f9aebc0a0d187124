//! Stacks deeper than a frame-pointer walk holds in one capture (64 frames)
//! where dhat's bottom trimming compares them. First, a profile whose first
//! event comes from the bottom of a 100-deep recursion: the frames below
//! `main` are still the ones trimmed, so later shallow points from `main`
//! end at `main`. Then a profiler built at the bottom of a 100-deep
//! recursion, whose first event comes from a function that the bottom
//! level calls after it: the recursion's frames are trimmed, and the points
//! end at the bottom level. Each under Some(6) and the default limit.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

#[inline(never)]
fn work(held: &mut Vec<Vec<u8>>) {
    held.push(common::site(black_box(10)));
    held.push(common::deep(black_box(3), 20));
    held.push(common::deep(black_box(30), 30));
}

/// Builds a profiler at the bottom of `levels` levels, then calls `work`.
#[inline(never)]
fn build_deep(
    levels: usize,
    limit: Option<usize>,
    name: &str,
    held: &mut Vec<Vec<u8>>,
) -> dhat::Profiler {
    if black_box(levels) == 0 {
        let profiler = builder(limit, name).build();
        work(held);
        return profiler;
    }
    let profiler = build_deep(levels - 1, limit, name, held);
    black_box(profiler)
}

fn builder(limit: Option<usize>, name: &str) -> dhat::ProfilerBuilder {
    let builder = dhat::Profiler::builder().file_name(name);
    match limit {
        Some(n) => builder.trim_backtraces(Some(n)),
        None => builder,
    }
}

fn main() {
    println!("start");
    let mut held = Vec::with_capacity(16);
    let limits: &[Option<usize>] = black_box(&[Some(6), None]);
    for &limit in limits {
        let suffix = limit.map_or("default".to_string(), |n| n.to_string());
        let profiler = builder(limit, &format!("first-deep-{suffix}.json")).build();
        held.push(common::deep(black_box(100), 40));
        held.push(common::site(black_box(50)));
        work(&mut held);
        println!("first deep {suffix}: {:?}", dhat::HeapStats::get());
        held.clear();
        drop(profiler);

        let name = format!("start-deep-{suffix}.json");
        let profiler = build_deep(black_box(100), limit, &name, &mut held);
        held.push(common::site(black_box(60)));
        work(&mut held);
        println!("start deep {suffix}: {:?}", dhat::HeapStats::get());
        held.clear();
        drop(profiler);
    }
    common::list_files("end");
}
