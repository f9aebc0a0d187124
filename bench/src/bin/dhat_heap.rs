//! The peer that mod-alloc replaces: dhat-rs 0.3.3 heap profiling.
//!
//! dhat captures a backtrace per allocation, so it is roughly two orders of magnitude slower
//! than the others and runs fewer iterations; results are per operation all the same. The
//! profile goes to the null device: writing it is not what is measured. Default trim.

use bench_support::workload::WORKLOADS;

#[global_allocator]
static GLOBAL: dhat::Alloc = dhat::Alloc;

fn main() {
    let _profiler = dhat::Profiler::builder().file_name("/dev/null").build();
    bench_support::runner::run(&bench_support::runner::Config {
        name: "dhat_heap",
        iter_divisor: 50,
        workloads: &[WORKLOADS],
        capture_totals: None,
        contaminated: bench_support::contaminated(None),
        memory_probe: true,
    });
}
