//! `dhat_compat::Alloc` has no `alloc_zeroed` of its own, as dhat's `Alloc` has none: a
//! zeroed allocation runs `GlobalAlloc`'s default method, which calls `alloc`. The frames that
//! method leaves above `alloc` are frames of dhat's stacks too, and count towards its
//! `trim_backtraces`, so the walk keeps them for the heap profiler; the call-site table drops
//! them.
//!
//! Run in debug and release builds, with `RUSTFLAGS="-C force-frame-pointers=yes"`.
#![cfg(all(
    feature = "dhat-compat",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

mod common;

use std::alloc::Layout;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mod_alloc::__private::walk;
use mod_alloc::dhat_compat as dhat;
use mod_alloc::Symbolizer;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// The frames of the first capture made while armed.
const KEPT: usize = 4;
static ARMED: AtomicBool = AtomicBool::new(false);
#[allow(clippy::declare_interior_mutable_const)] // array initialiser
const NO_FRAME: AtomicUsize = AtomicUsize::new(0);
static CAPTURED: [AtomicUsize; KEPT] = [NO_FRAME; KEPT];

/// Runs inside the allocator: copies the frames, nothing else.
fn observe(frames: &[usize]) {
    if ARMED.swap(false, Ordering::Relaxed) {
        for (slot, &frame) in CAPTURED.iter().zip(frames) {
            slot.store(frame, Ordering::Relaxed);
        }
    }
}

/// The frames captured for one allocation that `allocate` makes and frees.
fn captured_for(allocate: unsafe fn(Layout) -> *mut u8) -> Vec<usize> {
    let layout = Layout::from_size_align(40, 8).unwrap();
    for slot in &CAPTURED {
        slot.store(0, Ordering::Relaxed);
    }
    ARMED.store(true, Ordering::Relaxed);
    // SAFETY: a non-zero size; the block is freed with its layout.
    let block = unsafe { allocate(layout) };
    ARMED.store(false, Ordering::Relaxed);
    assert!(!block.is_null());
    // SAFETY: allocated just above with `layout`.
    unsafe { std::alloc::dealloc(block, layout) };
    CAPTURED
        .iter()
        .map(|slot| slot.load(Ordering::Relaxed))
        .take_while(|&frame| frame != 0)
        .collect()
}

/// The physical function of `address`.
fn function_of(symbolizer: &mut Symbolizer, address: usize) -> String {
    let symbols = symbolizer.resolve(address);
    let function = symbols.last().and_then(|symbol| symbol.function.clone());
    function.unwrap_or_else(|| panic!("{address:#x} has no name"))
}

#[test]
fn zeroed_allocations_keep_the_default_methods_frames_for_the_heap_profiler() {
    // A heap profiler's start calibrates the walker.
    let profiler = dhat::Profiler::builder().testing().build();
    if common::skip_without_frame_pointers() {
        return;
    }
    let plain_path = walk::allocator_path();
    let zeroed_path = walk::zeroed_allocator_path();
    assert!(
        !plain_path.is_empty(),
        "calibration kept no allocation path"
    );
    // Both enter this crate through `Alloc::alloc`; the zeroed path has frames of its own
    // after that: the shim that the default method is inlined into, or that method itself.
    let shared = plain_path
        .iter()
        .zip(&zeroed_path)
        .take_while(|(a, b)| a == b)
        .count();
    assert!(
        shared > 0 && zeroed_path.len() > shared,
        "plain {plain_path:x?}, zeroed {zeroed_path:x?}"
    );

    walk::set_capture_observer(Some(observe));
    let zeroed = captured_for(walk::allocate_zeroed_in_library);
    let plain = captured_for(walk::allocate_in_library);
    walk::set_capture_observer(None);
    drop(profiler);

    let mut symbolizer = Symbolizer::new();
    // A plain allocation's first frame is the code that allocated.
    assert!(
        function_of(&mut symbolizer, plain[0]).ends_with("allocate_in_library"),
        "plain capture {plain:x?}"
    );
    // A zeroed one starts with the first frame the zeroed path does not share: the walk
    // kept it, where it skips the allocator's frames on every other path.
    assert_eq!(zeroed[0], zeroed_path[shared], "zeroed capture {zeroed:x?}");
    // Without those frames it starts where a plain one does: what the call-site table keeps.
    let past = walk::past_zeroed_frames(&zeroed);
    assert!(
        !past.is_empty()
            && function_of(&mut symbolizer, past[0]).ends_with("allocate_zeroed_in_library"),
        "zeroed capture {zeroed:x?}, past the default method's frames {past:x?}"
    );

    // So the call-site table records a zeroed allocation at the code that made it, as deep as
    // a plain one from the same place.
    // Few frames, so that both stacks are deeper than the depth.
    let sites = mod_alloc::Profiler::builder().frames(4).start();
    let zeroed_layout = Layout::from_size_align(4321, 8).unwrap();
    let plain_layout = Layout::from_size_align(1234, 8).unwrap();
    // SAFETY: non-zero sizes; each block is freed with its layout.
    unsafe {
        let block = walk::allocate_zeroed_in_library(zeroed_layout);
        assert!(!block.is_null());
        std::alloc::dealloc(block, zeroed_layout);
        let block = walk::allocate_in_library(plain_layout);
        assert!(!block.is_null());
        std::alloc::dealloc(block, plain_layout);
    }
    let report = sites.call_sites();
    let site_of = |bytes: u64| {
        let site = report.sites.iter().find(|site| site.bytes == bytes);
        site.expect("the allocation's site").frames.clone()
    };
    let (zeroed_site, plain_site) = (site_of(4321), site_of(1234));
    assert!(
        function_of(&mut symbolizer, zeroed_site[0]).ends_with("allocate_zeroed_in_library"),
        "call site {zeroed_site:x?}"
    );
    assert_eq!(
        (zeroed_site.len(), plain_site.len()),
        (4, 4),
        "zeroed {zeroed_site:x?}, plain {plain_site:x?}"
    );
}
