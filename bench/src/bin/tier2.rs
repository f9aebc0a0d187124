//! This crate's tier 2: `mod_alloc::ModAlloc` with the `backtraces` feature, capture on for
//! the whole run (`Profiler::start`), default capture depth (16 frames) unless
//! `BENCH_TIER2_FRAMES` says otherwise.
//!
//! Built only with `--features tier2 --bin tier2` (see BENCHMARKS.md).

use bench_support::runner::CaptureTotals;
use bench_support::workload::CALL_SITE_WORKLOADS;
use mod_alloc::ModAlloc;

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

fn main() {
    // `BENCH_TIER2_FRAMES=N` sets the capture depth (default 16). The driver runs this
    // program three times per round: unset (`tier2`), at 8 frames, 1.0.1's depth
    // (`tier2_f8`), and at 32 (`tier2_f32`), which prices the frames beyond the default.
    let profiler = match std::env::var("BENCH_TIER2_FRAMES").map(|n| n.parse()) {
        Ok(Ok(frames)) => mod_alloc::Profiler::builder().frames(frames).start(),
        _ => mod_alloc::Profiler::start(),
    };
    // The report is allocated with recording on, after its figures are read: the runner
    // nets its blocks out of each measurement (`runner::settled_baseline`), for which it
    // needs the number of sites.
    let totals = || {
        let report = profiler.call_sites();
        CaptureTotals {
            events: report.events,
            // Every event whose walk found frames and room for them; the few that lost a
            // race for a slot to another thread (`contended`) walked too.
            captured: report
                .events
                .saturating_sub(report.zero_frame_events + report.table_full_events),
            frames: report.frames_captured,
            sites: report.sites.len() as u64,
        }
    };
    bench_support::runner::run(&bench_support::runner::Config {
        name: "tier2",
        iter_divisor: 1,
        workloads: &[CALL_SITE_WORKLOADS],
        capture_totals: Some(&totals),
        contaminated: bench_support::contaminated(Some("tier2")),
        memory_probe: false,
    });
    let report = profiler.call_sites();
    println!(
        "META config=tier2 sites={} unattributed={} table_full={} contended={} zero_frame={} frames_per_event_all={:.2}",
        report.sites.len(),
        report.unattributed_events,
        report.table_full_events,
        report.contended_events,
        report.zero_frame_events,
        report.frames_per_event()
    );
    println!(
        "META config=tier2 counted_allocs={}",
        profiler.stop().alloc_count
    );
}
