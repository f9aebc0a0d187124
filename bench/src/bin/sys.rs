//! Baseline: the system allocator, nothing installed.

use std::alloc::System;

#[global_allocator]
static GLOBAL: System = System;

fn main() {
    bench_support::runner::run(&bench_support::runner::Config {
        name: "sys",
        iter_divisor: 1,
        frames_per_event: None,
        contaminated: false,
    });
}
