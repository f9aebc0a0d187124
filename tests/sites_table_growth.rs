//! `MOD_ALLOC_BUCKETS=64` with far more than 64 sites: the table grows (visible in the
//! report), and once it has grown to its limit the events it cannot place are counted.
#![cfg(feature = "backtraces")]

use mod_alloc::{ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

/// Records one 16-byte event at a synthetic site unique to `site`.
fn event_at(site: usize) {
    let frames = [0x10_0000 + site, 0x42];
    mod_alloc::__private::with_synthetic_frames(&frames, || {
        drop(std::hint::black_box(Box::new([0u8; 16])))
    });
}

fn synthetic(frames: &[usize]) -> bool {
    frames.len() == 2 && frames[1] == 0x42
}

#[test]
fn small_table_grows_then_counts_overflow() {
    // Read by the first `Profiler::start` in this process.
    std::env::set_var("MOD_ALLOC_BUCKETS", "64");

    let profiler = Profiler::start();
    for site in 0..1_000 {
        event_at(site);
    }
    let report = profiler.call_sites();
    drop(profiler);
    let sites: Vec<_> = report
        .sites
        .iter()
        .filter(|s| synthetic(&s.frames))
        .collect();
    assert_eq!(sites.len(), 1_000, "every site placed once the table grew");
    assert!(sites.iter().all(|s| s.count == 1 && s.bytes == 16));
    assert!(
        report.table_segments > 1,
        "the table had to grow: {report:.0}"
    );
    assert!(report.table_slots >= 1_000);
    assert_eq!(report.table_full_events, 0);

    // The chain stops at 8 segments of 64, 128, ... 8192 slots: 16,320 in all.
    const MANY: usize = 20_000;
    let profiler = Profiler::start();
    for site in 0..MANY {
        event_at(site);
    }
    let report = profiler.call_sites();
    let placed: u64 = report
        .sites
        .iter()
        .filter(|s| synthetic(&s.frames))
        .map(|s| s.count)
        .sum();
    assert!(
        report.table_full_events > 0,
        "overflow must be counted: {report:.0}"
    );
    assert_eq!(
        placed + report.table_full_events,
        MANY as u64,
        "every event placed or counted"
    );
    assert_eq!(report.table_slots, 64 * 255);
    assert_eq!(report.table_segments, 8);
    assert!(report
        .to_string()
        .contains(&format!("{} with the table full", report.table_full_events)));
}
