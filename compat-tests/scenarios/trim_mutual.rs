//! Two mutually recursive functions allocate at the bottom of a recursion
//! from two callers, at depths from three below each frame limit to one
//! above it, under Some(4), Some(5), Some(7), Some(12) and Some(30). Around
//! the limit the allocating function alternates between `ping` and `pong`,
//! and stacks that agree in every frame the limit keeps share one point
//! whatever the caller, whose peak (`mb`/`mbk`) holds all their blocks at
//! once. Each profile's global peak comes later, when those are gone.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

#[inline(never)]
fn leaf(n: usize) -> Vec<u8> {
    black_box(Vec::with_capacity(n))
}

#[inline(never)]
fn ping(n: usize, size: usize, out: &mut Vec<Vec<u8>>) {
    if black_box(n) == 0 {
        out.push(leaf(size));
    } else {
        pong(n - 1, size, out);
        black_box(n);
    }
}

#[inline(never)]
fn pong(n: usize, size: usize, out: &mut Vec<Vec<u8>>) {
    if black_box(n) == 0 {
        out.push(leaf(size));
    } else {
        ping(n - 1, size, out);
        black_box(n);
    }
}

#[inline(never)]
fn caller_a(n: usize, out: &mut Vec<Vec<u8>>) {
    ping(n, 10 + n, out);
    black_box(n);
}

#[inline(never)]
fn caller_b(n: usize, out: &mut Vec<Vec<u8>>) {
    ping(n, 100 + n, out);
    black_box(n);
}

fn main() {
    println!("start");
    // Room for every block, so that `out` never grows while profiled.
    let mut out = Vec::with_capacity(64);
    let limits: &[usize] = black_box(&[4, 5, 7, 12, 30]);
    for &limit in limits {
        let profiler = dhat::Profiler::builder()
            .trim_backtraces(Some(limit))
            .file_name(format!("mutual-{limit}.json"))
            .build();
        for depth in limit.saturating_sub(3)..=limit + 1 {
            caller_a(black_box(depth), &mut out);
            caller_b(black_box(depth), &mut out);
        }
        println!("limit {limit}, held: {:?}", dhat::HeapStats::get());
        out.clear();
        drop(leaf(black_box(5000)));
        println!("limit {limit}, end: {:?}", dhat::HeapStats::get());
        drop(profiler);
    }
}
