//! Shared code for the allocator-overhead benchmark.
//!
//! A `#[global_allocator]` is chosen per binary, so every allocator configuration is its own
//! binary under `src/bin/`, and each of them is a few lines: install the allocator, then hand
//! a [`runner::Config`] to [`runner::run`]. Everything they have in common lives here, so the
//! configurations run byte-for-byte the same workloads:
//!
//! - [`workload`]: the measured loops (alloc+free pairs at fixed sizes, and a mixed
//!   workload of growing vectors, strings and map churn);
//! - [`runner`]: iteration counts, warm-up, one- and two-thread timing, and the output lines;
//! - [`protocol`]: the one-line `RESULT` / `META` format shared with the driver;
//! - [`fp_probe`]: a run-time check that the binary was built with frame pointers.
//!
//! The driver (`src/main.rs`) builds nothing: it runs the sibling binaries round-robin,
//! parses their lines and prints medians as a markdown table. BENCHMARKS.md has the method.

pub mod fp_probe;
pub mod protocol;
pub mod runner;
pub mod workload;
