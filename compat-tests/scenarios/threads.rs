//! compat: order-independent
//! Four threads allocate and free fixed sizes concurrently while a heap
//! profiler runs. Only figures that do not depend on the interleaving are
//! compared: totals, the end state, and per-site totals.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[inline(never)]
fn worker(id: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    for i in 0..200 {
        // Never zero: `vec![0; n]` would take the `alloc_zeroed` path, which mod-alloc
        // records as its own call path (MIGRATING_FROM_DHAT.md) and `zeroed` covers.
        let b = vec![id as u8 + 1; 16 + (i % 4) * 8];
        std::hint::black_box(&b);
        if i % 50 == 0 {
            kept.push(b);
        }
    }
    vec![id as u8 + 1; 100]
}

fn main() {
    println!("start");
    let profiler = dhat::Profiler::builder().file_name("threads.json").build();
    let handles: Vec<_> = (0..4)
        .map(|id| std::thread::spawn(move || worker(id)))
        .collect();
    let results: Vec<Vec<u8>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let stats = dhat::HeapStats::get();
    println!(
        "curr: {} blocks {} bytes",
        stats.curr_blocks, stats.curr_bytes
    );
    drop(profiler);
    println!("results: {}", results.len());
}
