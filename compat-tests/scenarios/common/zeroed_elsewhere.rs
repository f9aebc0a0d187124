//! The body of the scenarios `zeroed_elsewhere` and `zeroed_elsewhere_debug`:
//! zeroed and plain `Vec`s allocated in a crate other than the program's
//! (`other-crate`), at the bottom of a recursion deeper than the frame limit,
//! from two callers, under Some(4), Some(5), Some(6) and Some(8).
//!
//! Such code calls the allocator shim as a function. dhat's `Alloc` has no
//! `alloc_zeroed`, so the zeroed shim runs `GlobalAlloc`'s default method,
//! which calls `alloc`: that shim keeps a frame even when optimised, where
//! the plain one jumps straight to `alloc`, and dhat's limit counts it.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

/// Recurses `n` levels, then allocates a zeroed, a filled and an empty block
/// of `size` bytes (plus 8 and 16), all in `other-crate`.
#[inline(never)]
fn descend(n: usize, size: usize, held: &mut Vec<Vec<u8>>) {
    if black_box(n) == 0 {
        held.push(other_crate::zeroed_vec(size));
        held.push(other_crate::filled_vec(size + 8));
        held.push(other_crate::empty_vec(size + 16));
    } else {
        descend(n - 1, size, held);
        black_box(n);
    }
}

#[inline(never)]
fn from_a(n: usize, held: &mut Vec<Vec<u8>>) {
    descend(n, 100, held);
    black_box(n);
}

#[inline(never)]
fn from_b(n: usize, held: &mut Vec<Vec<u8>>) {
    descend(n, 200, held);
    black_box(n);
}

pub fn run() {
    println!("start");
    // Room for every block, so that `held` never grows while profiled.
    let mut held = Vec::with_capacity(16);
    let limits: &[usize] = black_box(&[4, 5, 6, 8]);
    for &limit in limits {
        let profiler = dhat::Profiler::builder()
            .trim_backtraces(Some(limit))
            .file_name(format!("elsewhere-{limit}.json"))
            .build();
        from_a(black_box(limit + 2), &mut held);
        from_b(black_box(limit + 2), &mut held);
        from_a(black_box(2), &mut held);
        println!("limit {limit}, held: {:?}", dhat::HeapStats::get());
        held.clear();
        println!("limit {limit}, end: {:?}", dhat::HeapStats::get());
        drop(profiler);
    }
}
