//! compat: exit=101
//! An uncaught failing dhat::assert_eq! with format arguments: the file is
//! written, the summary printed, then the panic at the call site ends the
//! process with status 101.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let _profiler = dhat::Profiler::builder()
        .testing()
        .file_name("eq.json")
        .build();
    let kept = vec![0u8; 32];
    let stats = dhat::HeapStats::get();
    dhat::assert_eq!(stats.curr_bytes, 32);
    dhat::assert_eq!(stats.curr_bytes, 31, "oh dear {}", 99);
    drop(kept);
}
