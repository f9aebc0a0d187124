//! This crate's tier 1: `mod_alloc::ModAlloc` with default features (counters only).

use bench_support::workload::WORKLOADS;
use mod_alloc::ModAlloc;

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

fn main() {
    bench_support::runner::run(&bench_support::runner::Config {
        name: "tier1",
        iter_divisor: 1,
        workloads: &[WORKLOADS],
        capture_totals: None,
        // Built together with another bench feature, this binary would measure it too.
        contaminated: bench_support::contaminated(None),
        memory_probe: false,
    });
    // Proof that the allocator really counted the workload.
    println!(
        "META config=tier1 counted_allocs={}",
        mod_alloc::stats().alloc_count
    );
}
