//! compat: profile=line-tables
//! Built with `debug = "line-tables-only"`, whose debug information names
//! functions without their paths (`alloc`, not `<dhat::Alloc as
//! GlobalAlloc>::alloc`). Two call paths part only at the fourth frame of
//! dhat's stacks (its allocator method, leaf, mid, then a or b) under
//! trim_backtraces(Some(4)); dhat keeps them apart, so the allocator's own
//! frames must not be counted as the program's.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

#[inline(never)]
fn leaf(n: usize) -> Vec<u8> {
    black_box(Vec::with_capacity(n))
}

#[inline(never)]
fn mid(n: usize) -> Vec<u8> {
    black_box(leaf(n))
}

#[inline(never)]
fn a() -> Vec<u8> {
    black_box(mid(100))
}

#[inline(never)]
fn b() -> Vec<u8> {
    black_box(mid(200))
}

fn main() {
    let _p = dhat::Profiler::builder()
        .trim_backtraces(Some(4))
        .file_name("lines.json")
        .build();
    let x = a();
    let y = b();
    println!("{:?}", dhat::HeapStats::get());
    drop((x, y));
}
