//! Two callers reach the same allocation through a chain deeper than the
//! frame cap. dhat keys a program point by its capped frames, so both
//! callers' blocks belong to one point, and its peak (`mb`/`mbk`) is the
//! most that point ever held at once: 200 bytes in 2 blocks here, reached
//! while neither caller's own blocks ever exceed 100. The global peak comes
//! later, from elsewhere, when these blocks are gone.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

#[inline(never)]
fn site() -> Vec<u8> {
    black_box(Vec::with_capacity(100))
}

/// `levels` frames of recursion above `site`, the same addresses for every caller.
#[inline(never)]
fn deep(levels: usize) -> Vec<u8> {
    if black_box(levels) == 0 {
        return site();
    }
    let block = deep(levels - 1);
    black_box(block)
}

#[inline(never)]
fn caller_a() -> Vec<u8> {
    black_box(deep(black_box(9)))
}

#[inline(never)]
fn caller_b() -> Vec<u8> {
    black_box(deep(black_box(9)))
}

fn main() {
    println!("start");
    let profiler = dhat::Profiler::builder().file_name("deep.json").build();
    drop(caller_a());
    let b = caller_b();
    let a = caller_a();
    println!("both held: {:?}", dhat::HeapStats::get());
    drop((a, b));
    drop(black_box(vec![0u8; 1000]));
    println!("end: {:?}", dhat::HeapStats::get());
    drop(profiler);
    common::list_files("end");
}
