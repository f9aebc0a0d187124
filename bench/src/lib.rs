//! Shared code for the allocator-overhead benchmark.
//!
//! A `#[global_allocator]` is chosen per binary, so every allocator configuration is its own
//! binary under `src/bin/`, and each of them is a few lines: install the allocator, then hand
//! a [`runner::Config`] to [`runner::run`]. Everything they have in common lives here, so the
//! configurations run byte-for-byte the same workloads:
//!
//! - [`workload`]: the measured loops (alloc+free pairs at fixed sizes, a mixed workload of
//!   growing vectors, strings and map churn, and allocations from one or many call sites at
//!   several stack depths);
//! - [`sites`]: the generated distinct allocation sites those loops and the symbolication
//!   programs use;
//! - [`runner`]: iteration counts, warm-up, one- and two-thread timing, the memory-per-block
//!   probe, and the output lines;
//! - [`protocol`]: the one-line `RESULT` / `META` format shared with the driver;
//! - [`fp_probe`]: a run-time check that the binary was built with frame pointers.
//!
//! The driver (`src/main.rs`) builds nothing: it runs the sibling binaries round-robin,
//! parses their lines and prints medians as markdown tables. BENCHMARKS.md has the method.

pub mod fp_probe;
pub mod protocol;
pub mod runner;
pub mod sites;
pub mod workload;

/// True when this build enabled a bench feature other than `allowed` (or any at all, for
/// `None`). Cargo unifies features over every binary built in one invocation, so each
/// configuration binary checks that its build was its own.
pub fn contaminated(allowed: Option<&str>) -> bool {
    let enabled = [
        ("tier2", cfg!(feature = "tier2")),
        ("modalloc101_bt", cfg!(feature = "modalloc101_bt")),
        ("heap", cfg!(feature = "heap")),
    ];
    enabled
        .iter()
        .any(|&(name, on)| on && Some(name) != allowed)
}
