//! A program point's own peak (`mb`/`mbk`) reached again with the same
//! bytes in more blocks: dhat's `>=` rule keeps the latest, so the point's
//! `mbk` is the block count of its last equal peak, not of its first. One
//! allocation site holds 100 bytes in one block, then in two, then in four,
//! always called from the same place: both loops run counts the compiler
//! cannot see, since an unrolled copy would be a program point of its own.
//! The vector holding the blocks is a second point, with equal peaks too.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

#[inline(never)]
fn site(n: usize) -> Vec<u8> {
    black_box(Vec::with_capacity(n))
}

/// Blocks of `sizes`, all from the one call of `site` in the loop.
#[inline(never)]
fn fill(sizes: &[usize]) -> Vec<Vec<u8>> {
    let mut blocks = Vec::with_capacity(4);
    for &n in black_box(sizes) {
        blocks.push(site(n));
    }
    blocks
}

fn main() {
    println!("start");
    let profiler = dhat::Profiler::builder().file_name("ties.json").build();
    let steps: [&[usize]; 3] = [&[100], &[50, 50], &[25, 25, 25, 25]];
    for sizes in black_box(&steps[..]) {
        let blocks = fill(sizes);
        println!("{} blocks: {:?}", sizes.len(), dhat::HeapStats::get());
        drop(blocks);
    }
    drop(profiler);
    common::list_files("end");
}
