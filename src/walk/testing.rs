//! Hooks for the walker's integration tests, reached through `mod_alloc::__private::walk`.
//! Hidden from the docs and not part of the API: they exist so that tests can check the walk
//! from inside a real global allocator.

use core::sync::atomic::{AtomicUsize, Ordering};

/// A function told about every `walk::capture`: the frames written. It runs inside the
/// global allocator, so it must not allocate, lock or panic.
pub type CaptureObserver = fn(&[usize]);

/// The installed observer as a `usize` (0 for none).
static OBSERVER: AtomicUsize = AtomicUsize::new(0);

/// Installs (or, with `None`, removes) the observer of every capture.
pub fn set_capture_observer(observer: Option<CaptureObserver>) {
    OBSERVER.store(observer.map_or(0, |f| f as usize), Ordering::Release);
    // `capture` looks at the observer only while this bit is set, so without one it pays
    // nothing beyond the mode load it makes anyway.
    if observer.is_some() {
        super::MODE.fetch_or(super::OBSERVED, Ordering::Release);
    } else {
        super::MODE.fetch_and(!super::OBSERVED, Ordering::Release);
    }
}

/// Called by `capture` after each walk while the observer bit is set.
#[inline(always)]
pub(super) fn notify_observer(frames: &[usize]) {
    let raw = OBSERVER.load(Ordering::Relaxed);
    if raw != 0 {
        notify_slow(raw, frames);
    }
}

#[cold]
#[inline(never)]
fn notify_slow(raw: usize, frames: &[usize]) {
    core::sync::atomic::fence(Ordering::Acquire);
    // SAFETY: `raw` is non-zero, so it was stored from a `CaptureObserver` by
    // `set_capture_observer`; function pointers round-trip through `usize`.
    let observer = unsafe { core::mem::transmute::<usize, CaptureObserver>(raw) };
    observer(frames);
}

/// `walk::capture` itself, with its allocator skip: meant to be called from a test's own
/// `#[inline(always)]` `GlobalAlloc` method. Inlined, so it adds no frame of its own.
#[inline(always)]
pub fn capture_for_tests(frames: &mut [usize]) -> usize {
    // SAFETY: the walk writes only return addresses.
    super::capture(unsafe { super::chain::slots_of(frames) }).len()
}

/// A walk from the caller: the first frame written is the return address into the function
/// that called `walk_here`.
#[inline(never)]
pub fn walk_here(frames: &mut [usize]) -> usize {
    // SAFETY: the walk writes only return addresses.
    let written = super::walk_from_here(unsafe { super::chain::slots_of(frames) }, |_| false);
    core::hint::black_box(written)
}

/// Allocates `layout` from inside this library, where the allocator shim (defined in the
/// crate that declares the `#[global_allocator]`) cannot be inlined: the first captured frame
/// must return into this function.
///
/// # Safety
///
/// As for [`std::alloc::alloc`].
#[inline(never)]
pub unsafe fn allocate_in_library(layout: std::alloc::Layout) -> *mut u8 {
    // SAFETY: the caller upholds `alloc`'s contract.
    let block = unsafe { std::alloc::alloc(layout) };
    core::hint::black_box(block)
}

/// [`allocate_in_library`] for `std::alloc::alloc_zeroed`.
///
/// # Safety
///
/// As for [`std::alloc::alloc_zeroed`].
#[inline(never)]
pub unsafe fn allocate_zeroed_in_library(layout: std::alloc::Layout) -> *mut u8 {
    // SAFETY: the caller upholds `alloc_zeroed`'s contract.
    let block = unsafe { std::alloc::alloc_zeroed(layout) };
    core::hint::black_box(block)
}

/// The entry address of [`allocate_in_library`].
pub fn allocate_in_library_address() -> usize {
    allocate_in_library as unsafe fn(std::alloc::Layout) -> *mut u8 as usize
}

/// Calibrates the walker's skip, as a profiler's start does; the calling thread's
/// allocations must reach `capture_for_tests` (or the crate's own allocator) meanwhile.
pub fn calibrate() {
    super::calibrate_from_user_code();
}

/// How many allocator return addresses calibration has learned.
pub fn learned_allocator_returns() -> usize {
    super::LEARNED.len()
}

/// See `walk::allocator_path`.
pub fn allocator_path() -> Vec<usize> {
    super::allocator_path()
}

/// See `walk::zeroed_allocator_path`.
pub fn zeroed_allocator_path() -> Vec<usize> {
    super::zeroed_allocator_path()
}

/// See `walk::past_zeroed_frames`.
pub fn past_zeroed_frames(frames: &[usize]) -> &[usize] {
    super::past_zeroed_frames(frames)
}

/// See `walk::frame_pointers_look_missing`.
pub fn frame_pointers_look_missing() -> bool {
    super::frame_pointers_look_missing()
}

/// See `walk::foreign_stack_seen`.
pub fn foreign_stack_seen() -> bool {
    super::foreign_stack_seen()
}

/// See `walk::MAX_FRAMES`.
pub const MAX_FRAMES: usize = super::MAX_FRAMES;
/// See `walk::DEFAULT_FRAMES`.
pub const DEFAULT_FRAMES: usize = super::DEFAULT_FRAMES;
