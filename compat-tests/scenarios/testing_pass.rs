//! Testing mode where every macro form passes: nothing is printed and no
//! file is written, and stats keep working between assertions.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let profiler = dhat::Profiler::builder().testing().build();
    let a = vec![1u64; 4];
    let stats = dhat::HeapStats::get();
    dhat::assert!(stats.curr_blocks == 1);
    dhat::assert!(stats.curr_bytes == 32, "bytes {}", stats.curr_bytes);
    dhat::assert_eq!(stats.total_blocks, 1);
    dhat::assert_eq!(stats.total_bytes, 32,);
    dhat::assert_eq!(stats.max_bytes, 32, "max {}", 32);
    dhat::assert_ne!(stats.curr_bytes, 0);
    dhat::assert_ne!(stats.max_blocks, 0, "blocks {}", stats.max_blocks);
    let s = String::from("allocated inside the condition");
    dhat::assert!(s.clone().len() > 3);
    let after = dhat::HeapStats::get();
    println!("after asserts: {after:?}");
    drop(a);
    drop(s);
    drop(profiler);
    common::list_files("end");
    let file_profiler = dhat::Profiler::builder()
        .testing()
        .file_name("never.json")
        .build();
    dhat::assert!(true);
    drop(file_profiler);
    common::list_files("end 2");
}
