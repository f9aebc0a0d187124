//! compat: exit=101
//! An uncaught failing plain dhat::assert!(cond) (a &str payload) in a
//! testing profiler with a custom file name and eprint_json.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let _profiler = dhat::Profiler::builder()
        .testing()
        .eprint_json()
        .file_name("plain.json")
        .build();
    let kept = Box::new(12u32);
    let stats = dhat::HeapStats::get();
    dhat::assert!(stats.curr_blocks == 1);
    dhat::assert!(stats.curr_blocks == 2);
    drop(kept);
}
