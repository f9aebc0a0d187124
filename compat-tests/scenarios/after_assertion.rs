//! What is left after a failed assertion, and a stale profiler: the memory
//! output of an asserted profiler is empty and prints nothing; a profiler
//! stopped early and dropped later, while a newer one runs, finishes the
//! newer one's profile.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::mem::ManuallyDrop;

fn main() {
    let mut asserted = ManuallyDrop::new(
        dhat::Profiler::builder()
            .testing()
            .file_name("asserted.json")
            .build(),
    );
    let block = vec![1u8; 10];
    common::outcome("failing assertion", || dhat::assert!(block.is_empty()));
    common::list_files("after the assertion");
    let memory = asserted.drop_and_get_memory_output();
    println!("memory output after the assertion: {memory:?}");
    drop(block);

    let mut stale = ManuallyDrop::new(dhat::Profiler::builder().file_name("stale.json").build());
    println!(
        "stale profiler's memory output: {} lines",
        stale.drop_and_get_memory_output().lines().count()
    );
    let newer = dhat::Profiler::builder().file_name("newer.json").build();
    let block = vec![2u8; 20];
    common::outcome("stale profiler dropped", || {
        drop(ManuallyDrop::into_inner(stale))
    });
    common::list_files("after the stale drop");
    common::outcome("stats after the stale drop", || {
        dhat::HeapStats::get().total_blocks
    });
    drop(block);
    common::outcome("newer profiler dropped", || drop(newer));
}
