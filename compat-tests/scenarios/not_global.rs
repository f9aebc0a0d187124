//! dhat::Alloc used directly while the global allocator is System: only the
//! blocks made through dhat::Alloc count; the stats, summary and points are
//! compared. Then GlobalAlloc methods called on the static directly.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout};

#[inline(never)]
unsafe fn direct(n: usize) -> *mut u8 {
    dhat::Alloc.alloc(Layout::from_size_align(n, 8).unwrap())
}

fn main() {
    let _p = dhat::Profiler::builder().file_name("direct.json").build();
    let v = vec![1u8; 100]; // System: not seen
    unsafe {
        let a = direct(40);
        let b = dhat::Alloc.alloc_zeroed(Layout::from_size_align(24, 8).unwrap());
        println!("after alloc: {:?}", dhat::HeapStats::get());
        let a = dhat::Alloc.realloc(a, Layout::from_size_align(40, 8).unwrap(), 80);
        println!("after realloc: {:?}", dhat::HeapStats::get());
        dhat::Alloc.dealloc(b, Layout::from_size_align(24, 8).unwrap());
        println!("after dealloc: {:?}", dhat::HeapStats::get());
        let keep = a;
        std::hint::black_box(keep);
    }
    drop(v);
    common::list_files("end");
}
