//! Zeroed allocation (vec![0; n], Box<[T]> zeroed, std::alloc::alloc_zeroed)
//! is tracked like any other allocation.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::alloc::{alloc_zeroed, dealloc, Layout};

fn main() {
    println!("start");
    let profiler = dhat::Profiler::builder().file_name("zeroed.json").build();
    let bytes = vec![0u8; 1000];
    let words = vec![0u64; 50];
    let boxed: Box<[u32]> = vec![0u32; 10].into_boxed_slice();
    let layout = Layout::from_size_align(128, 16).unwrap();
    // SAFETY: non-zero size; checked for null; freed once with its layout.
    unsafe {
        let p = alloc_zeroed(layout);
        assert!(!p.is_null());
        assert_eq!(*p.add(127), 0);
        dealloc(p, layout);
    }
    println!("stats: {:?}", dhat::HeapStats::get());
    drop(words);
    drop(profiler);
    drop((bytes, boxed));
}
