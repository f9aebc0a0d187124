//! Reallocation edge cases: grow and shrink of tracked blocks, realloc of a
//! block allocated before the profiler (counted as new), blocks from before
//! freed during profiling (ignored), a shrink at the peak, direct
//! std::alloc calls, and requests the system allocator refuses (null: a
//! failed allocation records nothing, a failed reallocation leaves the block
//! as it was).
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::alloc::{alloc, dealloc, realloc, Layout};

fn show(step: &str) {
    let stats = dhat::HeapStats::get();
    println!("{step}: {stats:?}");
}

fn main() {
    let mut before_grow: Vec<u8> = Vec::with_capacity(16);
    let mut before_shrink: Vec<u8> = Vec::with_capacity(64);
    before_shrink.push(1);
    let before_free = vec![3u8; 40];
    println!("start");
    let profiler = dhat::Profiler::builder().file_name("realloc.json").build();
    drop(before_free);
    show("pre-existing freed");
    before_grow.reserve_exact(100);
    show("pre-existing grown");
    before_shrink.shrink_to_fit();
    show("pre-existing shrunk");

    let mut grow: Vec<u8> = Vec::with_capacity(10);
    grow.reserve_exact(20);
    grow.reserve_exact(50);
    show("grown twice");
    grow.shrink_to(5);
    show("shrunk at peak");
    let mut again = Vec::<u16>::with_capacity(300);
    again.push(1);
    again.shrink_to_fit();
    show("shrunk to one element");

    let layout = Layout::from_size_align(24, 8).unwrap();
    // SAFETY: the layout has a non-zero size; the pointer is checked, used
    // with the same layout and alignment, and freed exactly once.
    unsafe {
        let p = alloc(layout);
        assert!(!p.is_null());
        let q = realloc(p, layout, 48);
        assert!(!q.is_null());
        let q = realloc(q, Layout::from_size_align(48, 8).unwrap(), 48);
        assert!(!q.is_null());
        let r = realloc(q, Layout::from_size_align(48, 8).unwrap(), 8);
        assert!(!r.is_null());
        dealloc(r, Layout::from_size_align(8, 8).unwrap());
    }
    show("raw");

    // 4 EiB: a valid layout (under isize::MAX, so the Vec asks the
    // allocator) that no 64-bit address space can map, so the system
    // allocator returns null and the Vec reports the error.
    const HUGE: usize = 1 << 62;
    let mut refused: Vec<u8> = Vec::new();
    println!("refused allocation: {}", refused.try_reserve_exact(HUGE).is_err());
    show("after a refused allocation");
    let mut tracked: Vec<u8> = Vec::with_capacity(100);
    println!("refused growth: {}", tracked.try_reserve_exact(HUGE).is_err());
    show("after a refused reallocation");
    tracked.shrink_to(50);
    show("the block still shrinks");
    drop(tracked);
    show("and is freed");
    drop(profiler);
    drop((before_grow, before_shrink, grow, again));
}
