//! Testing mode: assert on heap figures, as in a test.
//!
//! `cargo run --features dhat-compat --example heap_assertions`
//!
//! In a real project this body goes in an integration test, one test per file (a profiler
//! is process-wide, and tests in one file run in parallel threads):
//!
//! ```text
//! // tests/alloc_budget.rs
//! use mod_alloc::dhat_compat as dhat;
//!
//! #[global_allocator]
//! static ALLOC: dhat::Alloc = dhat::Alloc;
//!
//! #[test]
//! fn parse_allocates_once() {
//!     let _profiler = dhat::Profiler::builder().testing().build();
//!     ...
//!     dhat::assert_eq!(stats.total_blocks, 1);
//! }
//! ```
//!
//! While assertions pass nothing is printed or written. The first failing `dhat::assert*!`
//! prints the summary, writes `dhat-heap.json` for inspection, and panics. Read the stats
//! *before* the assertion: calling `HeapStats::get()` inside the condition panics.

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// The code under test: exactly one allocation of `n` `u64`s.
fn squares(n: u64) -> Vec<u64> {
    let mut out = Vec::with_capacity(n as usize);
    out.extend((0..n).map(|i| i * i));
    out
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();

    let v = squares(1_000);
    let stats = dhat::HeapStats::get();
    dhat::assert_eq!(stats.total_blocks, 1);
    dhat::assert_eq!(stats.total_bytes, 8_000);
    dhat::assert_eq!(stats.curr_bytes, 8_000, "the vector is still alive");

    drop(v);
    let stats = dhat::HeapStats::get();
    dhat::assert_eq!(stats.curr_blocks, 0);
    dhat::assert!(
        stats.max_bytes >= 8_000,
        "peak was {} bytes",
        stats.max_bytes
    );
    dhat::assert_ne!(stats.max_blocks, 0);
    println!("all heap assertions passed: {stats:?}");
}
