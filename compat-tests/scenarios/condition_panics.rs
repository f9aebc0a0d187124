//! An assertion whose condition panics (caught): the profiler keeps
//! running and the condition's allocations stay unrecorded. Blocks made
//! inside a passing condition escape it and are later grown and freed.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::cell::RefCell;

thread_local! {
    static KEEP: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn main() {
    let _p = dhat::Profiler::builder().testing().file_name("cond.json").build();
    let v = vec![1u8; 4];
    println!("start: {:?}", dhat::HeapStats::get());
    common::outcome("indexing condition", || dhat::assert!(v[std::hint::black_box(10)] == 1));
    println!("after: {:?}", dhat::HeapStats::get());
    common::outcome("formatting condition", || {
        dhat::assert!(format!("{}", std::hint::black_box(12345)).len() == 5)
    });
    println!("after format: {:?}", dhat::HeapStats::get());
    common::outcome("escaping condition", || {
        dhat::assert!(KEEP.with(|k| {
            k.borrow_mut().push(vec![7u8; 50]);
            k.borrow_mut().push(vec![8u8; 60]);
            true
        }))
    });
    println!("after escape: {:?}", dhat::HeapStats::get());
    KEEP.with(|k| {
        let mut k = k.borrow_mut();
        k[0].reserve_exact(100);
        k.pop();
    });
    println!("after grow and free: {:?}", dhat::HeapStats::get());
    common::outcome("panicking operand", || {
        dhat::assert_eq!(v.len(), { if std::hint::black_box(true) { panic!("operand {}", 1) } 4 })
    });
    let stats = dhat::HeapStats::get();
    println!("end: {stats:?}");
    common::outcome("final", || dhat::assert_eq!(stats.curr_blocks, 99, "blocks {}", stats.curr_blocks));
    common::list_files("end");
}
