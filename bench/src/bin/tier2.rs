//! This crate's tier 2: `mod_alloc::ModAlloc` with the `backtraces` feature.
//!
//! Built only with `--features tier2 --bin tier2` (see BENCHMARKS.md).

use mod_alloc::ModAlloc;

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

/// Frames recorded per allocation event so far.
///
/// The crate has no public call-site query yet (the walker is a stub that captures nothing),
/// so this reports 0 and the driver prints no figure for the row. Replace the body with a
/// read of the call-site table once one is public: total frames over total events.
fn frames_per_event() -> f64 {
    0.0
}

fn main() {
    let profiler = mod_alloc::Profiler::start();
    bench_support::runner::run(&bench_support::runner::Config {
        name: "tier2",
        iter_divisor: 1,
        frames_per_event: Some(frames_per_event),
        contaminated: false,
    });
    println!(
        "META config=tier2 counted_allocs={}",
        profiler.stop().alloc_count
    );
}
