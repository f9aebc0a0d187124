//! The one-line swap from `dhat`: heap profiling of a small workload.
//!
//! `cargo run --release --features dhat-compat --example dhat_drop_in`
//!
//! The program is written exactly as for the `dhat` crate; only the `use` line differs. At
//! the end it prints dhat's summary and writes `dhat-heap.json`, which Valgrind's
//! `dh_view.html` opens. Build with `RUSTFLAGS="-C force-frame-pointers=yes"` for full call
//! stacks.

use mod_alloc::dhat_compat as dhat; // was: `use dhat;` with `dhat = "0.3"` in Cargo.toml

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Growing vectors, strings and map churn: the usual sources of heap traffic.
fn workload() -> usize {
    use std::collections::HashMap;

    let mut lines = Vec::new();
    for i in 0..2_000 {
        lines.push(format!("line {i}: {}", "x".repeat(i % 50)));
    }
    let mut index: HashMap<usize, String> = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        index.insert(i % 256, line.clone());
    }
    lines.iter().map(String::len).sum::<usize>() + index.len()
}

fn main() {
    let _profiler = dhat::Profiler::new_heap();
    let total = workload();
    let stats = dhat::HeapStats::get();
    println!("worked on {total} bytes of text");
    println!("{stats:?}");
    // `_profiler` drops here: the summary goes to stderr and `dhat-heap.json` is written.
}
