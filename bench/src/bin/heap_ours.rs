//! This crate's heap profiler: `mod_alloc::dhat_compat`, the one-line dhat swap, with the
//! same builder call as the `dhat_heap` configuration (`file_name("/dev/null")`, default
//! trim).
//!
//! Built only with `--features heap` (see BENCHMARKS.md).

use bench_support::workload::WORKLOADS;
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static GLOBAL: dhat::Alloc = dhat::Alloc;

fn main() {
    let _profiler = dhat::Profiler::builder().file_name("/dev/null").build();
    bench_support::runner::run(&bench_support::runner::Config {
        name: "heap_ours",
        iter_divisor: 5,
        workloads: &[WORKLOADS],
        capture_totals: None,
        contaminated: bench_support::contaminated(Some("heap")),
        memory_probe: true,
    });
}
