//! The first frame `capture` records is the code that called the global allocator: the
//! allocator's own frames are skipped, and the immediate caller is never lost.
//!
//! The allocator below follows the contract `ModAlloc` follows: its `GlobalAlloc` methods are
//! `#[inline(always)]` and call the capture directly. Run in debug and release builds, with
//! `RUSTFLAGS="-C force-frame-pointers=yes"`.
#![cfg(all(
    feature = "backtraces",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use mod_alloc::__private::walk;

const DEPTH: usize = 8;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static CAPTURED: Cell<[usize; DEPTH]> = const { Cell::new([0; DEPTH]) };
    static WRITTEN: Cell<usize> = const { Cell::new(0) };
}

struct CapturingAlloc;

impl CapturingAlloc {
    #[inline(always)]
    fn capture_if_armed(&self) {
        if ARMED.with(Cell::get) {
            let mut frames = [0usize; DEPTH];
            let written = walk::capture_for_tests(&mut frames);
            CAPTURED.with(|c| c.set(frames));
            WRITTEN.with(|w| w.set(written));
        }
    }
}

// SAFETY: forwards to `System` unchanged; the capture neither allocates nor unwinds.
unsafe impl GlobalAlloc for CapturingAlloc {
    #[inline(always)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        self.capture_if_armed();
        ptr
    }

    #[inline(always)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        self.capture_if_armed();
        ptr
    }

    #[inline(always)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `realloc`'s contract.
        let ptr = unsafe { System.realloc(ptr, layout, new_size) };
        self.capture_if_armed();
        ptr
    }

    #[inline(always)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CapturingAlloc = CapturingAlloc;

const SPAN: usize = 1024;

fn returns_into(address: usize, entry: usize) -> bool {
    address > entry && address - entry < SPAN
}

/// Runs `allocate` with capturing armed and returns the frames captured.
fn captured_by(allocate: impl FnOnce()) -> Vec<usize> {
    // Calibrate once before any test captures, as a profiler's start does; the probes'
    // allocations must reach the capture, so arm it meanwhile.
    static CALIBRATE: std::sync::Once = std::sync::Once::new();
    CALIBRATE.call_once(|| {
        ARMED.with(|a| a.set(true));
        walk::calibrate();
        ARMED.with(|a| a.set(false));
    });
    ARMED.with(|a| a.set(true));
    allocate();
    ARMED.with(|a| a.set(false));
    let frames = CAPTURED.with(Cell::get);
    frames[..WRITTEN.with(Cell::get)].to_vec()
}

fn layout() -> Layout {
    Layout::from_size_align(48, 8).unwrap()
}

#[inline(never)]
fn allocates() -> *mut u8 {
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { std::alloc::alloc(layout()) };
    black_box(ptr)
}

#[inline(never)]
fn allocates_zeroed() -> *mut u8 {
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout()) };
    black_box(ptr)
}

#[inline(never)]
fn reallocates(ptr: *mut u8) -> *mut u8 {
    // SAFETY: `ptr` came from `alloc` with `layout()`; the new size is non-zero.
    let ptr = unsafe { std::alloc::realloc(ptr, layout(), 4096) };
    black_box(ptr)
}

/// Asserts the first frame returns into `function`. Debug builds do not inline
/// `std::alloc::{alloc, alloc_zeroed, realloc}`, so there the calling crate's copy of that
/// function may come first (trimmed by name at report time), and `function` second; any
/// other frame in between would be an allocator frame that was not skipped.
fn assert_first_frame_is(frames: &[usize], function: usize, api: usize) {
    assert!(
        !frames.is_empty(),
        "nothing captured: are frame pointers forced?"
    );
    if returns_into(frames[0], function) {
        return;
    }
    assert!(
        cfg!(debug_assertions) && frames.len() >= 2 && returns_into(frames[1], function),
        "first frames {frames:x?} do not return into {function:#x}",
    );
    assert!(
        returns_into(frames[0], api),
        "frame 0 {:#x} is not in the std API copy {api:#x}",
        frames[0]
    );
}

type AllocFn = unsafe fn(Layout) -> *mut u8;
type ReallocFn = unsafe fn(*mut u8, Layout, usize) -> *mut u8;

#[test]
fn alloc_records_the_allocating_function_first() {
    let mut ptr = core::ptr::null_mut();
    let frames = captured_by(|| ptr = allocates());
    assert_first_frame_is(
        &frames,
        allocates as fn() -> *mut u8 as usize,
        std::alloc::alloc as AllocFn as usize,
    );

    let frames = captured_by(|| ptr = reallocates(ptr));
    let realloc_api = std::alloc::realloc as ReallocFn as usize;
    assert_first_frame_is(
        &frames,
        reallocates as fn(*mut u8) -> *mut u8 as usize,
        realloc_api,
    );
    // SAFETY: `ptr` came from `realloc` with size 4096 and `layout()`'s alignment.
    unsafe { std::alloc::dealloc(ptr, Layout::from_size_align(4096, 8).unwrap()) };

    let frames = captured_by(|| ptr = allocates_zeroed());
    let zeroed_api = std::alloc::alloc_zeroed as AllocFn as usize;
    assert_first_frame_is(
        &frames,
        allocates_zeroed as fn() -> *mut u8 as usize,
        zeroed_api,
    );
    // SAFETY: `ptr` came from `alloc_zeroed` with `layout()`.
    unsafe { std::alloc::dealloc(ptr, layout()) };
}

#[inline(never)]
fn boxes() -> Box<[u8; 32]> {
    black_box(Box::new([7u8; 32]))
}

#[test]
fn collection_allocations_reach_the_user_function() {
    // Through `Box::new` the allocating function is the first frame in optimised builds and
    // one of the first few in debug builds (above `exchange_malloc` and `alloc::alloc`).
    let mut boxed = None;
    let frames = captured_by(|| boxed = Some(boxes()));
    let entry = boxes as fn() -> Box<[u8; 32]> as usize;
    let position = frames.iter().position(|&ra| returns_into(ra, entry));
    match position {
        Some(0) => {}
        Some(_) if cfg!(debug_assertions) => {}
        _ => panic!("`boxes` not found where expected in {frames:x?}"),
    }
    drop(boxed);
}

#[test]
fn a_shim_that_is_not_inlined_is_skipped() {
    // The library cannot inline this crate's `__rust_alloc`, so the shim is a frame of its
    // own there: calibration must have learned to drop it (and, in debug builds, the library's
    // copy of `alloc::alloc::alloc`).
    let mut ptr = core::ptr::null_mut();
    // SAFETY: the layout has a non-zero size.
    let frames = captured_by(|| ptr = unsafe { walk::allocate_in_library(layout()) });
    assert!(walk::learned_allocator_returns() > 0);
    assert!(!frames.is_empty());
    assert!(
        returns_into(frames[0], walk::allocate_in_library_address()),
        "first frames {frames:x?} do not return into the library function"
    );
    // SAFETY: `ptr` was allocated with `layout()`.
    unsafe { std::alloc::dealloc(ptr, layout()) };
}
