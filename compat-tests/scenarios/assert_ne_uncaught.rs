//! compat: exit=101
//! An uncaught failing dhat::assert_ne! without format arguments.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let kept = vec![0u8; 32];
    let stats = dhat::HeapStats::get();
    dhat::assert_ne!(stats.curr_bytes, 31);
    dhat::assert_ne!(stats.curr_bytes, 32);
    drop(kept);
}
