//! The body of the scenarios `trim_realloc` and `trim_realloc_debug`, which
//! build it with different Cargo profiles. Reallocation at stacks deeper
//! than the frame limit, under Some(4), Some(5) and Some(8). A block born at one deep stack and grown at
//! another stays with the point of its birth. A block allocated before the
//! profiler and grown under it is new at the stack of the reallocation,
//! which takes the allocator's reallocation path: its allocator frames are
//! counted towards the limit too. Two callers reach each growth site.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

#[inline(never)]
fn born(n: usize) -> Vec<u8> {
    black_box(Vec::with_capacity(n))
}

#[inline(never)]
fn grow(v: &mut Vec<u8>, n: usize) {
    v.reserve_exact(black_box(n));
    black_box(v.as_ptr());
}

/// Recurses `n` levels, then calls `f`.
#[inline(never)]
fn descend(n: usize, f: &mut dyn FnMut()) {
    if black_box(n) == 0 {
        f();
    } else {
        descend(n - 1, f);
        black_box(n);
    }
}

#[inline(never)]
fn path_a(n: usize, f: &mut dyn FnMut()) {
    descend(n, f);
    black_box(n);
}

#[inline(never)]
fn path_b(n: usize, f: &mut dyn FnMut()) {
    descend(n, f);
    black_box(n);
}

pub fn run() {
    println!("start");
    let limits: &[usize] = black_box(&[4, 5, 8]);
    for &limit in limits {
        // Blocks from before the profiler, each with room for no more.
        let mut old_a = Vec::with_capacity(10);
        old_a.extend_from_slice(&[1u8; 10]);
        let mut old_b = Vec::with_capacity(20);
        old_b.extend_from_slice(&[2u8; 20]);
        let profiler = dhat::Profiler::builder()
            .trim_backtraces(Some(limit))
            .file_name(format!("realloc-{limit}.json"))
            .build();
        let deep = limit + 3;
        let mut first = Vec::new();
        path_a(deep, &mut || first = born(30));
        let mut second = Vec::new();
        path_b(deep, &mut || second = born(40));
        // Grown at other stacks, shallower and deeper.
        path_b(1, &mut || grow(&mut first, 100));
        path_a(deep + 2, &mut || grow(&mut second, 200));
        // Blocks from before: new at the stack that grows them.
        path_a(deep, &mut || grow(&mut old_a, 300));
        path_b(deep, &mut || grow(&mut old_b, 400));
        println!("limit {limit}, held: {:?}", dhat::HeapStats::get());
        drop((first, second, old_a, old_b));
        drop(born(black_box(5000)));
        println!("limit {limit}, end: {:?}", dhat::HeapStats::get());
        drop(profiler);
    }
}
