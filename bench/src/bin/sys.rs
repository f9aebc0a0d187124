//! Baseline: the system allocator, nothing installed. Runs every workload, since every other
//! configuration is reported as a ratio to it, and the memory probe (the system allocator's
//! own cost per live block).

use std::alloc::System;

use bench_support::workload::{CALL_SITE_WORKLOADS, WORKLOADS};

#[global_allocator]
static GLOBAL: System = System;

fn main() {
    bench_support::runner::run(&bench_support::runner::Config {
        name: "sys",
        iter_divisor: 1,
        workloads: &[WORKLOADS, CALL_SITE_WORKLOADS],
        capture_totals: None,
        contaminated: bench_support::contaminated(None),
        memory_probe: true,
    });
}
