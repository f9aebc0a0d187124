//! The capture depth chosen with `Profiler::builder().frames(n)`: a deep stack keeps exactly
//! `n` frames, the default is 16, values outside `1..=64` are moved to the nearest bound, and
//! overlapping profilers walk as deep as the deepest of them asked.
//!
//! One process, scenarios in turn: the depth and the call-site table are process-wide. Needs
//! frame pointers (`RUSTFLAGS="-C force-frame-pointers=yes"`, as the README test command sets):
//! without them it is skipped, unless `MOD_ALLOC_EXPECT_FRAME_POINTERS=present` says the
//! build has them, and then it fails.
mod common;

use std::hint::black_box;

use mod_alloc::{CallSiteReport, ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

/// Deeper than any capture: the walk must stop because its buffer is full, not because the
/// stack ended.
const RECURSION: usize = 100;

/// Allocates `size` bytes below `levels` frames of recursion.
#[inline(never)]
fn allocate_below(levels: usize, size: usize) {
    if levels == 0 {
        drop(black_box(Vec::<u8>::with_capacity(size)));
    } else {
        allocate_below(black_box(levels - 1), size);
        // Work after the call keeps it out of tail position, so every level keeps its frame.
        black_box(levels);
    }
}

/// The frame counts of the sites that allocated `size` bytes (and only such blocks).
fn frame_counts(report: &CallSiteReport, size: usize) -> Vec<usize> {
    report
        .sites
        .iter()
        .filter(|site| site.bytes == site.count * size as u64)
        .map(|site| site.frames.len())
        .collect()
}

/// Opens a profiler with `frames` (the default when `None`), allocates `size` bytes deep
/// down, and returns the frame counts of that allocation's sites.
fn capture(frames: Option<usize>, size: usize) -> Vec<usize> {
    let profiler = match frames {
        Some(frames) => Profiler::builder().frames(frames).start(),
        None => Profiler::start(),
    };
    allocate_below(RECURSION, size);
    frame_counts(&profiler.call_sites(), size)
}

fn main() {
    // Calibrates the walker and tells whether this build keeps frame pointers.
    let probe = Profiler::start();
    allocate_below(4, 11);
    let report = probe.call_sites();
    drop(probe);
    if report.frame_pointers_missing {
        let notice = report.notice().unwrap_or_default();
        let finding = format!("the call-site self-test found no frame pointers ({notice})");
        common::frame_pointers_not_found(&finding, "skipped");
        return;
    }

    let cases: [(Option<usize>, usize); 6] = [
        (None, 16),
        (Some(16), 16),
        (Some(4), 4),
        (Some(40), 40),
        (Some(0), 1),
        (Some(1_000), 64),
    ];
    for (index, (asked, expected)) in cases.into_iter().enumerate() {
        let size = 1_000 + index;
        let counts = capture(asked, size);
        assert_eq!(
            counts,
            [expected],
            "frames({asked:?}): one site of {expected} frames expected"
        );
    }

    // Overlap: the deepest request applies while it runs, then the next deepest.
    let shallow = Profiler::builder().frames(8).start();
    allocate_below(RECURSION, 2_001);
    let deep = Profiler::builder().frames(48).start();
    allocate_below(RECURSION, 2_002);
    let report = deep.call_sites();
    assert_eq!(frame_counts(&report, 2_001), [8]);
    assert_eq!(frame_counts(&report, 2_002), [48]);
    drop(deep);
    allocate_below(RECURSION, 2_003);
    let report = shallow.call_sites();
    // The same 8 innermost frames as the first block's, so the same site, now with both.
    let back_to_eight: Vec<_> = report
        .sites
        .iter()
        .filter(|site| site.bytes == 2_001 + 2_003)
        .map(|site| (site.frames.len(), site.count))
        .collect();
    assert_eq!(back_to_eight, [(8, 2)], "back to 8 frames once 48 stopped");
    // With 8 and the default both running, the default's 16 is the deepest.
    let default = Profiler::start();
    allocate_below(RECURSION, 2_004);
    assert_eq!(frame_counts(&default.call_sites(), 2_004), [16]);
    drop(shallow);
    drop(default);

    println!("ok: capture depth follows Profiler::builder().frames(..)");
}
