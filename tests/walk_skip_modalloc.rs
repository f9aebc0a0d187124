//! With `ModAlloc` as the global allocator and a `Profiler` running, the first frame of every
//! capture is the code that asked for memory: the allocator's own frames are skipped and the
//! immediate caller is kept.
//!
//! Frames are observed through a test hook that `walk::capture` calls after each walk. Run in
//! debug and release builds, with `RUSTFLAGS="-C force-frame-pointers=yes"`.
#![cfg(all(
    feature = "backtraces",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::alloc::Layout;
use std::cell::Cell;
use std::hint::black_box;

use mod_alloc::__private::walk;
use mod_alloc::{ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const DEPTH: usize = 8;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static SEEN: Cell<Option<[usize; DEPTH]>> = const { Cell::new(None) };
}

/// Runs inside the allocator: keeps the first capture made while armed. Allocation-free.
fn observe(frames: &[usize]) {
    let _ = ARMED.try_with(|armed| {
        if armed.replace(false) {
            let mut kept = [0; DEPTH];
            let n = frames.len().min(DEPTH);
            kept[..n].copy_from_slice(&frames[..n]);
            let _ = SEEN.try_with(|seen| seen.set(Some(kept)));
        }
    });
}

/// The frames of the first capture made while `allocate` runs (zeros past the end).
fn captured_by(allocate: impl FnOnce()) -> [usize; DEPTH] {
    SEEN.with(|seen| seen.set(None));
    ARMED.with(|armed| armed.set(true));
    allocate();
    ARMED.with(|armed| armed.set(false));
    SEEN.with(Cell::get)
        .expect("no capture ran inside the allocation")
}

const SPAN: usize = 1024;

fn returns_into(address: usize, entry: usize) -> bool {
    address > entry && address - entry < SPAN
}

fn layout() -> Layout {
    Layout::from_size_align(40, 8).unwrap()
}

#[inline(never)]
fn allocates_here() -> *mut u8 {
    // SAFETY: the layout has a non-zero size.
    let block = unsafe { std::alloc::alloc(layout()) };
    black_box(block)
}

type AllocFn = unsafe fn(Layout) -> *mut u8;

#[test]
fn the_first_frame_is_the_allocating_function() {
    walk::set_capture_observer(Some(observe));
    let profiler = Profiler::start();

    // From this crate, where optimised builds inline the allocator shim into the caller.
    let mut block = core::ptr::null_mut();
    let frames = captured_by(|| block = allocates_here());
    let entry = allocates_here as fn() -> *mut u8 as usize;
    if !returns_into(frames[0], entry) {
        // Debug builds do not inline `std::alloc::alloc`: this crate's copy comes first (it is
        // trimmed by name at report time), then the allocating function.
        if !cfg!(debug_assertions) {
            panic!("frames {frames:x?} do not start in {entry:#x}");
        }
        assert!(
            returns_into(frames[0], std::alloc::alloc as AllocFn as usize),
            "{frames:x?}"
        );
        assert!(returns_into(frames[1], entry), "{frames:x?}");
    }
    // SAFETY: `block` was allocated with `layout()`.
    unsafe { std::alloc::dealloc(block, layout()) };

    // From the library, where the shim is always a frame of its own.
    // SAFETY: the layout has a non-zero size.
    let frames = captured_by(|| block = unsafe { walk::allocate_in_library(layout()) });
    assert!(walk::learned_allocator_returns() > 0);
    assert!(
        returns_into(frames[0], walk::allocate_in_library_address()),
        "frames {frames:x?} do not start in the library function"
    );
    // SAFETY: `block` was allocated with `layout()`.
    unsafe { std::alloc::dealloc(block, layout()) };

    let stats = profiler.stop();
    walk::set_capture_observer(None);
    // The calibration probes are invisible to the counters.
    assert_eq!(stats.alloc_count, 2, "{stats:?}");
}
