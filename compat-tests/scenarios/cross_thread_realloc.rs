//! Blocks that move between threads and are reallocated and freed on the
//! other side: grown, shrunk and grown again on a worker, then on main.
//! Each thread runs alone (spawn then join), so the order is fixed.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

#[inline(never)]
fn make(n: usize) -> Vec<u8> {
    black_box(Vec::with_capacity(n))
}

#[inline(never)]
fn grow(mut v: Vec<u8>, n: usize) -> Vec<u8> {
    v.reserve_exact(n);
    black_box(v)
}

#[inline(never)]
fn shrink(mut v: Vec<u8>, n: usize) -> Vec<u8> {
    v.shrink_to(n);
    black_box(v)
}

fn main() {
    let _p = dhat::Profiler::builder().file_name("xt.json").build();
    let v = make(10);
    let v = std::thread::spawn(move || {
        let v = grow(v, 100);
        let v = shrink(v, 50);
        grow(v, 300)
    })
    .join()
    .unwrap();
    println!("1: {:?}", dhat::HeapStats::get());
    let w = std::thread::spawn(|| make(40)).join().unwrap();
    let w = grow(w, 80);
    let v = shrink(v, 5);
    println!("2: {:?}", dhat::HeapStats::get());
    let keep = std::thread::spawn(move || {
        drop(v);
        grow(w, 500)
    })
    .join()
    .unwrap();
    println!("3: {:?}", dhat::HeapStats::get());
    let keep = shrink(keep, 1);
    println!("4: {:?}", dhat::HeapStats::get());
    drop(keep);
    common::list_files("end");
}
