//! Distinct allocation sites at a chosen stack depth, for the call-site and symbolication
//! benchmarks.
//!
//! `build.rs` generates [`SITE_COUNT`] functions, `site_0` … `site_1023`, each
//! `#[inline(never)]` with a body made unique by its own number, so each one is a separate
//! return address for a frame-pointer walker and a separate `function (file:line)` for a
//! symbolizer. [`allocate_at_depth`] reaches a site through a chosen number of recursive
//! frames, so the walk above the allocation is as deep as the benchmark asks.

use std::hint::black_box;

include!(concat!(env!("OUT_DIR"), "/sites.rs"));

/// Allocates `size` bytes at `site` below `depth` extra frames of recursion, frees the block,
/// and returns its capacity (so nothing is optimised away).
#[inline(never)]
pub fn allocate_at_depth(depth: usize, site: fn(usize) -> Vec<u8>, size: usize) -> usize {
    if depth == 0 {
        let block = site(size);
        black_box(&block).capacity()
    } else {
        let capacity = allocate_at_depth(black_box(depth - 1), site, size);
        // Work after the call keeps it out of tail position: the frame must stay on the
        // stack, and LLVM may not turn the recursion into a loop.
        black_box(capacity)
    }
}

/// Allocates once at each of the first `count` sites (at most [`SITE_COUNT`]), through
/// `depth` frames of recursion, freeing each block before the next site allocates (a
/// profiler still records every site). Returns the blocks' total capacity.
#[inline(never)]
pub fn touch_sites(count: usize, depth: usize) -> usize {
    SITES
        .iter()
        .take(count)
        .map(|&site| allocate_at_depth(depth, site, 32))
        .sum()
}
