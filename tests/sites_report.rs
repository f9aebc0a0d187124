//! The call-site report through the real allocator path: sorting, realloc attribution,
//! unattributed events, windows and the report's own allocations.
#![cfg(feature = "backtraces")]

use std::alloc::{GlobalAlloc, Layout, System};

use mod_alloc::{CallSiteReport, ModAlloc, Profiler, ThreadProfiler};

/// Refuses every request of exactly 777 bytes, to check that nulls record nothing.
struct Picky;

// SAFETY: forwards to `System`, except that it returns null for some sizes, which the
// `GlobalAlloc` contract allows.
unsafe impl GlobalAlloc for Picky {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() == 777 {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size == 777 {
            return std::ptr::null_mut();
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: ModAlloc<Picky> = ModAlloc::with_inner(Picky);

const A: [usize; 2] = [0xa1, 0xa2];
const B: [usize; 3] = [0xb1, 0xb2, 0xb3];
const C: [usize; 1] = [0xc1];
const D: [usize; 2] = [0xd1, 0xd2];

fn at<R>(frames: &[usize], f: impl FnOnce() -> R) -> R {
    mod_alloc::__private::with_synthetic_frames(frames, f)
}

fn site<'r>(report: &'r CallSiteReport, frames: &[usize]) -> Option<&'r mod_alloc::CallSite> {
    report.sites.iter().find(|s| s.frames == frames)
}

/// The blocks and bytes a report holds: its list of sites and each site's frames.
fn footprint(report: &CallSiteReport) -> (u64, u64) {
    let list = (report.sites.capacity() > 0) as u64;
    let list_bytes = report.sites.capacity() * std::mem::size_of::<mod_alloc::CallSite>();
    let frames_bytes: usize = report
        .sites
        .iter()
        .map(|site| site.frames.capacity() * std::mem::size_of::<usize>())
        .sum();
    let frame_lists = report
        .sites
        .iter()
        .filter(|site| site.frames.capacity() > 0)
        .count() as u64;
    (list + frame_lists, (list_bytes + frames_bytes) as u64)
}

fn alloc_raw(size: usize) -> *mut u8 {
    // SAFETY: a non-zero size and a valid alignment.
    unsafe { std::alloc::alloc(Layout::from_size_align(size, 8).unwrap()) }
}

// One test: the report is process-wide, so scenarios run in sequence.
#[test]
fn report_scenarios() {
    // A: 1 big block. B: 10 small blocks. C: a realloc grown to 300 bytes.
    let profiler = Profiler::start();
    at(&A, || drop(std::hint::black_box(vec![0u8; 10_000])));
    at(&B, || {
        for _ in 0..10 {
            drop(std::hint::black_box(vec![0u8; 10]));
        }
    });
    let mut grown: Vec<u8> = Vec::with_capacity(100);
    at(&C, || grown.reserve_exact(300));
    drop(grown);
    // Nulls from the inner allocator record nothing.
    at(&C, || assert!(alloc_raw(777).is_null()));
    // Events whose walk captured nothing are counted, not dropped.
    at(&[], || drop(std::hint::black_box(Box::new(1u64))));

    let report = profiler.call_sites();
    let a = site(&report, &A).expect("site A");
    assert_eq!((a.count, a.bytes), (1, 10_000));
    let b = site(&report, &B).expect("site B");
    assert_eq!((b.count, b.bytes), (10, 100));
    let c = site(&report, &C).expect("site C: the realloc caller");
    assert_eq!(
        (c.count, c.bytes),
        (1, 300),
        "realloc counts once, at its new size"
    );
    assert!(report.zero_frame_events >= 1);
    assert!(report.notice().unwrap().contains("captured no"));
    assert_eq!(
        report.events,
        report.attributed_events() + report.unattributed_events
    );

    let by_bytes = report.clone().sorted_by_bytes();
    let position =
        |r: &CallSiteReport, f: &[usize]| r.sites.iter().position(|s| s.frames == f).unwrap();
    assert!(position(&by_bytes, &A) < position(&by_bytes, &C));
    assert!(position(&by_bytes, &C) < position(&by_bytes, &B));
    let by_blocks = report.clone().sorted_by_blocks();
    assert!(position(&by_blocks, &B) < position(&by_blocks, &A));

    let text = by_bytes.to_string();
    assert!(text.contains("0xa1 0xa2"), "{text}");
    assert!(text.contains("0xb1 0xb2 0xb3"), "{text}");
    assert!(text.contains("captured no"), "{text}");

    // The report is the caller's memory, counted like any other: its blocks are allocation
    // events of the next report, and the work of reading the table is not.
    let first = profiler.call_sites();
    let second = profiler.call_sites();
    assert_eq!(second.events, first.events + footprint(&first).0);
    for frames in [&A[..], &B[..], &C[..]] {
        assert_eq!(site(&second, frames), site(&first, frames));
    }
    assert_eq!(site(&second, &A), site(&report, &A));
    drop((first, second));

    // A report made and dropped inside a window counts as many frees as allocations, on the
    // calling thread and process-wide: the window's net stays at zero.
    let own = ThreadProfiler::start();
    let window = Profiler::start();
    let one = at(&D, || std::hint::black_box(vec![1u8; 100]));
    drop(one);
    let made = profiler.call_sites();
    let (blocks, bytes) = footprint(&made);
    assert!(blocks >= 5, "sites A, B, C and D at least: {made}");
    assert_eq!(site(&made, &D).map(|s| (s.count, s.bytes)), Some((1, 100)));
    drop(made);
    let (own, window) = (own.stop(), window.stop());
    for (figures, name) in [(own, "ThreadProfiler"), (window, "Profiler")] {
        assert_eq!(
            (figures.alloc_count, figures.dealloc_count),
            (1 + blocks, 1 + blocks),
            "{name}: {figures:?}"
        );
        assert_eq!(figures.total_bytes, 100 + bytes, "{name}: {figures:?}");
        assert_eq!(
            (figures.net_bytes, figures.net_blocks),
            (0, 0),
            "{name}: {figures:?}"
        );
    }

    // An overlapping window shares the table: it sees A too.
    let overlapping = Profiler::start();
    at(&B, || drop(std::hint::black_box(vec![0u8; 10])));
    let shared = overlapping.call_sites();
    assert_eq!(site(&shared, &A).unwrap().count, 1);
    assert_eq!(site(&shared, &B).unwrap().count, 11);
    drop(profiler);
    // The table outlasts the profiler that started it while another runs: the younger one
    // still reports A, made before it started, under the one that has just stopped.
    let outlasting = overlapping.call_sites();
    assert_eq!(site(&outlasting, &A).unwrap().count, 1);
    assert_eq!(site(&outlasting, &B).unwrap().count, 11);
    drop(overlapping);

    // A window started while none runs begins with an empty table.
    let fresh = Profiler::start();
    at(&C, || drop(std::hint::black_box(vec![0u8; 5])));
    let report = fresh.call_sites();
    assert!(site(&report, &A).is_none());
    assert!(site(&report, &B).is_none());
    assert_eq!(site(&report, &C).map(|s| (s.count, s.bytes)), Some((1, 5)));
    drop(fresh);

    // With no profiler running nothing is captured: a later window does not see this.
    at(&A, || drop(std::hint::black_box(vec![0u8; 64])));
    let later = Profiler::start();
    assert!(site(&later.call_sites(), &A).is_none());
}
