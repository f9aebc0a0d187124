//! The published peer: `mod-alloc` 1.0.1 from crates.io, default features (counters).

use bench_support::workload::WORKLOADS;
use mod_alloc_101::ModAlloc;

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

fn main() {
    bench_support::runner::run(&bench_support::runner::Config {
        name: "modalloc101_counters",
        iter_divisor: 1,
        workloads: &[WORKLOADS],
        capture_totals: None,
        contaminated: bench_support::contaminated(None),
        memory_probe: false,
    });
    println!(
        "META config=modalloc101_counters counted_allocs={}",
        GLOBAL.snapshot().alloc_count
    );
}
