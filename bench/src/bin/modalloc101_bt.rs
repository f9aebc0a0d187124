//! The published peer's call-site tier: `mod-alloc` 1.0.1 with its `backtraces` feature
//! (always on, 8 frames per event, one global table).
//!
//! Built only with `--features modalloc101_bt --bin modalloc101_bt`: the feature must not
//! reach `modalloc101_counters`.

use bench_support::runner::CaptureTotals;
use bench_support::workload::CALL_SITE_WORKLOADS;
use mod_alloc_101::ModAlloc;

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

/// 1.0.1 has no frames-per-event figure of its own: every site row carries its frame count
/// and its event count, and the allocations it could not attribute (0 frames walked) are in
/// no row, so the denominator is the allocator's own allocation count, and the captured
/// events are the rows' counts.
fn totals() -> CaptureTotals {
    let sites = GLOBAL.call_sites();
    let frames = sites
        .iter()
        .map(|site| site.count * u64::from(site.frame_count))
        .sum();
    let captured = sites.iter().map(|site| site.count).sum();
    CaptureTotals {
        events: GLOBAL.snapshot().alloc_count,
        captured,
        frames,
        sites: sites.len() as u64,
    }
}

fn main() {
    bench_support::runner::run(&bench_support::runner::Config {
        name: "modalloc101_bt",
        iter_divisor: 1,
        workloads: &[CALL_SITE_WORKLOADS],
        capture_totals: Some(&totals),
        contaminated: bench_support::contaminated(Some("modalloc101_bt")),
        memory_probe: false,
    });
    println!(
        "META config=modalloc101_bt sites={} counted_allocs={}",
        GLOBAL.call_sites().len(),
        GLOBAL.snapshot().alloc_count
    );
}
