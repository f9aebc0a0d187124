//! Equal global peaks reached again with the blocks spread over other
//! points (the latest wins for gb), per-point peaks reached again with
//! more blocks (the latest wins for mb/mbk), and a free exactly at the
//! peak after a same-size realloc.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[inline(never)]
fn site_a(n: usize) -> Vec<u8> {
    std::hint::black_box(Vec::with_capacity(n))
}
#[inline(never)]
fn site_b(n: usize) -> Vec<u8> {
    std::hint::black_box(Vec::with_capacity(n))
}
#[inline(never)]
fn site_c(n: usize) -> Vec<u8> {
    std::hint::black_box(Vec::with_capacity(n))
}

fn main() {
    let _p = dhat::Profiler::builder().file_name("ties.json").build();
    let a = site_a(60);
    let b = site_b(40);
    println!("1: {:?}", dhat::HeapStats::get());
    drop(b);
    let c1 = site_c(20);
    let c2 = site_c(20);
    println!("2: {:?}", dhat::HeapStats::get());
    drop(c1);
    drop(c2);
    let a2 = site_a(10);
    let a3 = site_a(30);
    println!("3: {:?}", dhat::HeapStats::get());
    drop(a2);
    drop(a3);
    drop(a);
    let x: Vec<Vec<u8>> = (0..4).map(|_| site_b(25)).collect();
    println!("4: {:?}", dhat::HeapStats::get());
    drop(x);
}
