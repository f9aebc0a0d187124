//! realloc to the same size (at the peak and below it), over-aligned
//! blocks (4 KiB and 1 MiB alignment) allocated, zeroed, grown, shrunk and
//! freed through std::alloc, and a shrinking realloc of a zeroed block.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::alloc::{alloc, alloc_zeroed, dealloc, realloc, Layout};

#[inline(never)]
fn step(label: &str) {
    println!("{label}: {:?}", dhat::HeapStats::get());
}

fn main() {
    let _p = dhat::Profiler::builder().file_name("ra.json").build();
    unsafe {
        let l64 = Layout::from_size_align(64, 8).unwrap();
        let a = alloc(l64);
        step("a 64");
        let a = realloc(a, l64, 64);
        step("a same size at peak");
        let b = alloc(Layout::from_size_align(100, 8).unwrap());
        dealloc(b, Layout::from_size_align(100, 8).unwrap());
        step("b 100 freed");
        let a = realloc(a, l64, 64);
        step("a same size below peak");

        let big = Layout::from_size_align(100, 4096).unwrap();
        let p = alloc(big);
        step("4k-aligned 100");
        println!("aligned: {}", p as usize % 4096 == 0);
        let p = realloc(p, big, 5000);
        step("4k grown to 5000");
        let big2 = Layout::from_size_align(5000, 4096).unwrap();
        let p = realloc(p, big2, 10);
        step("4k shrunk to 10");
        dealloc(p, Layout::from_size_align(10, 4096).unwrap());
        step("4k freed");

        let huge = Layout::from_size_align(3, 1 << 20).unwrap();
        let q = alloc_zeroed(huge);
        println!("1M aligned: {} zero: {}", q as usize % (1 << 20) == 0, *q == 0);
        step("1M-aligned zeroed 3");
        let q = realloc(q, huge, 1);
        step("1M shrunk to 1");
        dealloc(q, Layout::from_size_align(1, 1 << 20).unwrap());

        let z = alloc_zeroed(Layout::from_size_align(256, 16).unwrap());
        let z = realloc(z, Layout::from_size_align(256, 16).unwrap(), 128);
        step("zeroed 256 shrunk to 128");
        let z = realloc(z, Layout::from_size_align(128, 16).unwrap(), 128);
        step("zeroed same size");
        dealloc(z, Layout::from_size_align(128, 16).unwrap());
        dealloc(a, l64);
        step("end");
    }
}
