//! The body of the scenarios `trim_zeroed_debug`, `trim_zeroed_deps`,
//! `wrapped_zeroed`, `wrapped_zeroed_debug`, `forwarded_zeroed` and
//! `forwarded_zeroed_debug`, which build it with different Cargo profiles and
//! global allocators: `std::alloc::alloc_zeroed` and `std::alloc::alloc`,
//! called directly at the bottom of a recursion deeper than the frame limit,
//! from two callers, under each limit given. dhat's `Alloc` does not implement
//! `alloc_zeroed`, so a zeroed allocation runs `GlobalAlloc`'s default method,
//! which calls its `alloc`; where that default method keeps a frame, dhat's
//! limit counts it, and so do the frames of a wrapper around it. (Raw calls,
//! because the standard library's `vec!` and `Vec` paths can take different
//! generic instances in the two builds.)
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

use std::alloc::{alloc, alloc_zeroed, dealloc, Layout};
use std::hint::black_box;

#[inline(never)]
fn raw_zeroed(n: usize) -> (*mut u8, Layout) {
    let layout = Layout::from_size_align(n, 8).unwrap();
    // SAFETY: non-zero size; checked for null; freed by `release` with its layout.
    let p = unsafe { alloc_zeroed(layout) };
    assert!(!p.is_null());
    (black_box(p), layout)
}

#[inline(never)]
fn raw_plain(n: usize) -> (*mut u8, Layout) {
    let layout = Layout::from_size_align(n, 8).unwrap();
    // SAFETY: as above.
    let p = unsafe { alloc(layout) };
    assert!(!p.is_null());
    (black_box(p), layout)
}

/// Recurses `n` levels, then allocates one zeroed and one plain block.
#[inline(never)]
fn descend(n: usize, size: usize, held: &mut Vec<(*mut u8, Layout)>) {
    if black_box(n) == 0 {
        held.push(raw_zeroed(size));
        held.push(raw_plain(size + 8));
    } else {
        descend(n - 1, size, held);
        black_box(n);
    }
}

#[inline(never)]
fn from_a(n: usize, held: &mut Vec<(*mut u8, Layout)>) {
    descend(n, 100, held);
    black_box(n);
}

#[inline(never)]
fn from_b(n: usize, held: &mut Vec<(*mut u8, Layout)>) {
    descend(n, 200, held);
    black_box(n);
}

fn release(held: &mut Vec<(*mut u8, Layout)>) {
    for (p, layout) in held.drain(..) {
        // SAFETY: allocated by `raw_zeroed` or `raw_plain` with this layout, freed once.
        unsafe { dealloc(p, layout) };
    }
}

/// Profiles the allocations under each of `limits`, writing `{name}-{limit}.json`.
pub fn run(name: &str, limits: &[usize]) {
    println!("start");
    // Room for every block, so that `held` never grows while profiled.
    let mut held = Vec::with_capacity(16);
    for &limit in black_box(limits) {
        let profiler = dhat::Profiler::builder()
            .trim_backtraces(Some(limit))
            .file_name(format!("{name}-{limit}.json"))
            .build();
        from_a(black_box(limit + 2), &mut held);
        from_b(black_box(limit + 2), &mut held);
        from_a(black_box(2), &mut held);
        println!("limit {limit}, held: {:?}", dhat::HeapStats::get());
        release(&mut held);
        let big = raw_plain(black_box(10_000));
        release(&mut vec![big]);
        println!("limit {limit}, end: {:?}", dhat::HeapStats::get());
        drop(profiler);
    }
}
