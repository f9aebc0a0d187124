//! This crate's tier 1: `mod_alloc::ModAlloc` with default features (counters only).

use mod_alloc::ModAlloc;

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

fn main() {
    bench_support::runner::run(&bench_support::runner::Config {
        name: "tier1",
        iter_divisor: 1,
        frames_per_event: None,
        // Built together with `--features tier2`, this binary would measure `backtraces`.
        contaminated: cfg!(feature = "tier2"),
    });
    // Proof that the allocator really counted the workload.
    println!(
        "META config=tier1 counted_allocs={}",
        mod_alloc::stats().alloc_count
    );
}
