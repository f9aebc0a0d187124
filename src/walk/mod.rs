//! The frame-pointer walker (feature `backtraces`): the return addresses of the code that called
//! the global allocator, captured inline on every tracked allocation.
//!
//! # How a frame-pointer walk works
//!
//! With frame pointers on, every function's prologue pushes a two-word *frame record* and
//! points the frame-pointer register (`rbp` on x86_64, `x29` on aarch64) at it. The record
//! holds the caller's frame pointer and the return address into the caller, so the records
//! form a linked list running up the stack:
//!
//! ```text
//!  high addresses   ┌──────────────────────────┐ <- stack top (cached per thread)
//!                   │ ...outer frames...       │
//!                   ├──────────────────────────┤
//!        fp2 ─────> │ saved fp = fp3 (or 0)    │  record of the caller's caller
//!                   │ return address ra2       │
//!                   │ locals                   │
//!                   ├──────────────────────────┤
//!        fp1 ─────> │ saved fp = fp2           │  record of the caller
//!                   │ return address ra1       │
//!                   │ locals                   │
//!                   ├──────────────────────────┤
//!  fp register ───> │ saved fp = fp1           │  record of the walking function
//!                   │ return address ra0       │
//!                   │ locals                   │
//!  low addresses    └──────────────────────────┘ <- stack pointer (start of the walk)
//! ```
//!
//! Each word pair is `[fp, fp + 8)` and `[fp + 8, fp + 16)`. The walk reads the record at the
//! frame-pointer register, keeps its return address, moves to the saved frame pointer and
//! repeats. The return addresses point just *after* each call instruction; symbolication looks
//! up `address - 1`.
//!
//! # What is checked before every read
//!
//! A frame pointer can be garbage: C code built without frame pointers may use `rbp` as an
//! ordinary register, and memory just above a thread's stack can be a guard page. So the pure
//! core in `chain.rs` reads a record only if:
//!
//! - the whole 16-byte record lies in `[stack pointer, stack top)`, the live part of the
//!   current thread's stack, where every byte is mapped and readable;
//! - its address is 16-byte aligned, as both ABIs guarantee for real records;
//!
//! and it stops on a zero return address, a zero saved frame pointer (the outermost frame
//! clears it), or a saved frame pointer that is not strictly above the current one, so a
//! corrupt or cyclic chain ends after at most one pass up the stack. The core reaches memory
//! only through a `read_word` abstraction, so it is unit-tested (and Miri-checked) on
//! synthetic stacks. On the live stack the reads are volatile loads: the words belong to other
//! functions' frames, and a volatile load is emitted exactly where written, never assumed,
//! merged or moved by the compiler.
//!
//! # Where the stack top comes from
//!
//! The stack top is asked of the C library once per thread (`pthread_getattr_np` on Linux,
//! `pthread_get_stackaddr_np` on macOS; see `crate::sys`; Windows walks need none) and cached in a `const`-initialised, destructor-free thread-local, so a
//! walk pays one thread-local read. On glibc's main thread the first query parses
//! `/proc/self/maps` (tens of microseconds, once); every later event uses the cache.
//!
//! If the stack pointer is outside the cached range (a `sigaltstack` handler, a coroutine or
//! fiber with its own stack) the bounds are asked for once more. If the stack pointer is still
//! outside, the thread is marked and this and every later walk from a foreign stack captures
//! nothing: a walk never reads memory it cannot bound. [`foreign_stack_seen`] reports it.
//!
//! Where the system cannot say where a thread's stack is at all (the BSDs, which have no
//! query wired up; glibc's main thread when `/proc` is not mounted), every walk on that
//! thread captures nothing. That is neither a foreign stack nor missing frame pointers:
//! [`stack_bounds_unavailable`] reports it, and the frame-pointer self-test does not count a
//! walk it could not make against the build.
//!
//! # Skipping the allocator's own frames
//!
//! [`capture`] is `#[inline(never)]` and reads the frame pointer after its own prologue, so
//! the first record it reads is its own, holding the return address into its caller. The
//! frames between `capture` and the code that asked for memory vary with the build: the
//! allocator shim (`__rust_alloc`, `__rg_alloc`) is a frame of its own when called from
//! another crate, but in optimised builds it is inlined into callers in the crate that
//! declares the `#[global_allocator]`, and then the return address into the shim *is* the
//! caller's frame. A fixed skip count would drop the caller in one case or keep the shim in
//! the other, so the walker skips by address instead:
//!
//! - Once per process, when the first profiler that captures starts, it calibrates
//!   ([`calibrate_from_user_code`]): with this thread's events suspended
//!   (`thread_state::Suspended`), `#[inline(never)]` probe functions allocate, allocate
//!   zeroed and reallocate through `std::alloc`. The capture inside each probe allocation
//!   walks the raw stack, finds the first return address into the probe, and remembers every
//!   return address before it: these are return addresses inside the allocator's own code
//!   (`capture`'s callers, the shims, the `GlobalAlloc` methods).
//! - Every later capture drops leading return addresses that are among those remembered, and
//!   keeps everything from the first one that is not.
//! - One exception: where the zeroed probe enters the allocator through its `alloc` (the
//!   allocator, like `dhat_compat::Alloc`, takes `GlobalAlloc`'s default `alloc_zeroed`), only
//!   the frames it shares with the plain probe are remembered. The frames the default method
//!   adds are in dhat's stacks too, so the heap profiler keeps them; the call-site table drops
//!   them ([`zeroed_allocator_path`], [`past_zeroed_frames`]).
//!
//! Calibration runs in the profiler's start, in user code, never inside an allocation: the
//! allocator never allocates through the global allocator itself, so a global allocator that
//! wraps `ModAlloc` behind a lock of its own is never re-entered. A capture that another
//! thread makes while the first profiler is still starting skips only what has been learned
//! so far; its frames are kept, and the allocator's are trimmed by name at report time.
//!
//! A remembered address is an exact return address inside allocator code, so a user frame is
//! never dropped: the immediate caller is never lost, whatever was inlined. If a shim path was
//! not learned (a caller that does not walk while probing, or link-time optimisation inlining
//! the shim into the probe), its frame is kept as the first frame and report-time trimming by
//! name removes it. In debug builds `alloc::alloc::alloc` and the collection internals above
//! it are frames of the calling crate too; those are trimmed by name at report time, as dhat
//! does, because each crate in a build may be optimised differently.
//!
//! Shrink-wrapping (LLVM setting up a frame only on some paths) cannot hide the caller
//! either. It bites a walker that reads the frame-pointer register before its own prologue
//! has run, and so starts at its caller's record. `capture` reads the register through a stack
//! slot, which forces its prologue to run first. Whatever function calls `capture` makes a
//! real call, so with frame pointers on its own prologue has run too, and its record, holding
//! the return address into its caller, is on the chain. The tests `walk_skip` and
//! `walk_skip_modalloc` check that the first frame is the allocating function, in debug and
//! release builds.
//!
//! # The one rule for callers
//!
//! Every allocator path that calls `capture` must also call it, *from the same call site*,
//! while [`calibrating`] is true, even though the thread's events are suspended then; and then
//! record nothing (capture returns 0 frames there). A path that checks for suspension before
//! calling `capture` is not learned, and keeps one allocator frame at the top of its
//! captures. For example:
//!
//! ```text
//! let recording = thread_state::recording();
//! if !recording && !walk::calibrating() { return; }
//! let captured = walk::capture(&mut frames);     // the only call site
//! if !recording { return; }
//! ```
//!
//! # Frame pointers that are missing
//!
//! The profiled program must be built with `-C force-frame-pointers=yes` on x86_64 (build.rs
//! warns when it is not). [`frame_pointers_look_missing`] runs a self-test once: a walk from a
//! known three-deep chain of non-inlined functions must find its two callers in order.
//! Reports say so once when it fails. [`foreign_stack_seen`] tells them when walks ran on
//! stacks that could not be bounded.
//!
//! # Targets
//!
//! - **x86_64** (`rbp`) and **aarch64** (`x29`, with pointer-authentication bits masked off
//!   return addresses) are walked.
//! - **Windows** keeps no usable frame-record chain, so there the walk asks the system
//!   unwinder instead (`windows.rs`, `RtlCaptureStackBackTrace`), with the same contract:
//!   the same first frame, the same skip by learned address, the same depth limit. It needs
//!   no stack bounds and no frame pointers.
//! - **Other architectures, and operating systems with no stack-bounds query** (the BSDs,
//!   wasm): [`capture`] compiles and always returns 0 frames.
//!
//! `frame_pointers.rs` holds the frame-pointer walk with its stack bounds; `mod unwind`
//! below is the one place that picks between the two.

use core::cell::Cell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::alloc::Layout;

// The frame-record chain is followed everywhere but on Windows; its pure core is unit-tested
// on every target.
#[cfg_attr(windows, allow(dead_code))]
mod chain;
pub(crate) mod testing;

// The one dispatch point for how a walk finds return addresses: the frame-pointer chain, or
// on Windows the system unwinder. Each exports the same names.
#[cfg(not(windows))]
#[path = "frame_pointers.rs"]
mod unwind;
#[cfg(windows)]
#[path = "windows.rs"]
mod unwind;

use self::chain::{filled, slots_of};
pub(crate) use self::unwind::{foreign_stack_seen, stack_bounds_unavailable};
use self::unwind::{this_thread_has_no_stack_bounds, walk_from_here};

/// Most raw frames one capture can record (`trim_backtraces(None)` needs at least 64).
pub(crate) const MAX_FRAMES: usize = 64;

/// Raw frames captured by default: enough for dhat's default of 10 after trimming.
pub(crate) const DEFAULT_FRAMES: usize = 16;

/// Writes the return addresses of the code that called the global allocator into `frames`,
/// innermost first, with the allocator's own frames (ModAlloc / dhat_compat::Alloc methods and
/// the `__rust_alloc` shims) skipped. Returns the written part of `frames` (at most
/// `frames.len()` and at most [`MAX_FRAMES`] entries).
///
/// Call it from inside a `GlobalAlloc` method, on every allocation that is to be recorded. It
/// never locks, allocates or panics. Inside a calibration probe's allocation (see
/// [`calibrate_from_user_code`]) it learns the allocator's return addresses and returns 0
/// frames.
#[inline(never)]
pub(crate) fn capture(frames: &mut [MaybeUninit<usize>]) -> &[usize] {
    // One load decides the common case: calibrated and no observer installed.
    let mode = MODE.load(Ordering::Acquire);
    if mode & UNCALIBRATED != 0 && calibrating() {
        learn_from_probe();
        return &[];
    }
    let written = walk_from_here(frames, is_allocator_return);
    // SAFETY: the walk initialised the first `written` slots.
    let captured = unsafe { filled(frames, written) };
    if mode & OBSERVED != 0 {
        testing::notify_observer(captured);
    }
    captured
}

/// What [`capture`] must do besides walking: a set bit sends it off its fast path. Bits:
/// [`UNCALIBRATED`] until calibration is over, [`OBSERVED`] while a test observer is installed.
static MODE: AtomicU8 = AtomicU8::new(UNCALIBRATED);
const UNCALIBRATED: u8 = 1;
const OBSERVED: u8 = 2;

/// Captures the calling stack outside the allocator (a profile's start, an ad hoc event):
/// nothing is skipped by calibration, only the first `skip` return addresses, which belong to
/// the caller's own `#[inline(never)]` helpers. Innermost first, like [`capture`].
#[cfg_attr(not(feature = "dhat-compat"), allow(dead_code))] // used by the heap profiler
#[inline(never)]
pub(crate) fn capture_from_caller(frames: &mut [usize], skip: usize) -> usize {
    let mut skipped = 0;
    // SAFETY: the walk writes only return addresses.
    walk_from_here(unsafe { slots_of(frames) }, |_| {
        skipped += 1;
        skipped <= skip
    })
}

/// The outermost return addresses of the calling thread's stack: the last `tail.len()` of
/// the whole frame chain, whatever its depth, innermost first. Returns how many were written
/// and whether they are the whole chain. For comparing the bottoms of stacks too deep for a
/// capture (dhat's trimming below `main`); never called on a hot path.
#[cfg_attr(not(feature = "dhat-compat"), allow(dead_code))] // used by the heap profiler
#[inline(never)]
pub(crate) fn outermost_from_here(tail: &mut [usize]) -> (usize, bool) {
    let capacity = tail.len();
    if capacity == 0 {
        return (0, false);
    }
    let mut seen = 0usize;
    // Every return address goes to `skip_leading`, which keeps the last ones in a ring and
    // asks to skip it, so the walk follows the chain to its end without writing a frame.
    let mut unused = [MaybeUninit::<usize>::uninit(); 1];
    walk_from_here(&mut unused, |address| {
        tail[seen % capacity] = address;
        seen += 1;
        true
    });
    if seen > capacity {
        tail.rotate_left(seen % capacity);
    }
    (seen.min(capacity), seen <= capacity)
}

/// Return addresses inside the allocator's own code, learned by [`calibrate`]. Written only
/// while calibrating, then published by the Release store that clears [`UNCALIBRATED`].
static LEARNED: ReturnSet = ReturnSet::new();

/// Calibration attempts started so far.
static CALIBRATION: AtomicU8 = AtomicU8::new(0);
/// Attempts that learned nothing (no capture ran inside the probes, for example because no
/// capture was active yet) are retried this many times, then the walker stops trying.
const CALIBRATION_ATTEMPTS: u8 = 3;

/// A small set of return addresses, asked about on every capture: open addressing with
/// linear probing from [`ReturnSet::home`], 0 marking an empty slot, so a question costs
/// one or two loads however many addresses it holds. At most [`ReturnSet::CAPACITY`] slots
/// are ever filled, far fewer than there are, so every probe sequence soon meets an empty
/// slot.
struct ReturnSet {
    slots: [AtomicUsize; ReturnSet::SLOTS],
    /// Slots reserved so far.
    len: AtomicUsize,
}

impl ReturnSet {
    const SLOTS: usize = 64;
    const CAPACITY: usize = 12;

    const fn new() -> ReturnSet {
        #[allow(clippy::declare_interior_mutable_const)] // array initialiser
        const EMPTY: AtomicUsize = AtomicUsize::new(0);
        ReturnSet {
            slots: [EMPTY; ReturnSet::SLOTS],
            len: AtomicUsize::new(0),
        }
    }

    /// Where probing for `address` starts: the top bits of a multiplicative hash, so
    /// addresses that differ only in low bits spread out.
    #[inline(always)]
    fn home(address: usize) -> usize {
        const SLOT_BITS: u32 = ReturnSet::SLOTS.trailing_zeros();
        ((address as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - SLOT_BITS)) as usize
    }

    /// Whether `address` (not 0) is in the set.
    #[inline(always)]
    fn contains(&self, address: usize) -> bool {
        let mut index = ReturnSet::home(address);
        loop {
            let known = self.slots[index].load(Ordering::Relaxed);
            if known == address {
                return true;
            }
            if known == 0 {
                return false;
            }
            index = (index + 1) % ReturnSet::SLOTS;
        }
    }

    /// Adds `address`, unless it is 0, already there, or the set is full. Two calibrations
    /// may run at once (a second thread can start the next attempt), so slots are reserved
    /// and claimed atomically.
    fn insert(&self, address: usize) {
        if address == 0 || self.contains(address) {
            return;
        }
        let reserved = self
            .len
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |len| {
                (len < ReturnSet::CAPACITY).then_some(len + 1)
            });
        if reserved.is_err() {
            return;
        }
        let mut index = ReturnSet::home(address);
        loop {
            match self.slots[index].compare_exchange(
                0,
                address,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(existing) if existing == address => return,
                Err(_) => index = (index + 1) % ReturnSet::SLOTS,
            }
        }
    }

    /// Addresses held (or being inserted).
    #[inline(always)]
    fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}

/// Whether `address` (never 0: a walk stops at a zero return address) is a learned return
/// address inside the allocator.
#[inline(always)]
fn is_allocator_return(address: usize) -> bool {
    LEARNED.contains(address)
}

/// Whether this thread is running the calibration probes: a capture made now must return 0
/// frames, and the allocator must record nothing (the thread's events are suspended).
pub(crate) fn calibrating() -> bool {
    CALIBRATING.try_with(Cell::get).unwrap_or(false)
}

thread_local! {
    /// Set while this thread runs the calibration probes.
    static CALIBRATING: Cell<bool> = const { Cell::new(false) };
}

/// Calibrates the skip (see the module docs) unless that is done. Call it from user code,
/// never from inside the allocator, right after turning capture on: the probes' allocations
/// must reach [`capture`], so the tier that asked must already be capturing.
pub(crate) fn calibrate_from_user_code() {
    if MODE.load(Ordering::Acquire) & UNCALIBRATED != 0 {
        calibrate();
    }
}

/// Runs the calibration probes (see the module docs): one attempt per call, and at most
/// [`CALIBRATION_ATTEMPTS`] in the process (an attempt that learns nothing, because the
/// global allocator is not `ModAlloc`, say, leaves the next profiler's start to try again).
/// Two profilers starting at once may run an attempt each, on their own stacks.
#[cold]
#[inline(never)]
fn calibrate() {
    let attempt = CALIBRATION.load(Ordering::Relaxed);
    if attempt >= CALIBRATION_ATTEMPTS
        || CALIBRATION
            .compare_exchange(attempt, attempt + 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    let marked = CALIBRATING.try_with(|flag| flag.replace(true)).is_ok();
    if marked {
        // Neither the counters nor the call-site table record a suspended thread's events.
        let _quiet = crate::thread_state::Suspended::new();
        run_probes();
        let _ = CALIBRATING.try_with(|flag| flag.set(false));
    }
    let done = !marked || LEARNED.len() > 0 || attempt + 1 == CALIBRATION_ATTEMPTS;
    if done {
        // Release: publishes the learned set to every capture that loads the mode with
        // Acquire and finds calibration over.
        MODE.fetch_and(!UNCALIBRATED, Ordering::Release);
    }
}

/// Size of the probe blocks: small, and different from common sizes.
const PROBE_LAYOUT: Layout = match Layout::from_size_align(24, 8) {
    Ok(layout) => layout,
    Err(_) => panic!("valid layout"),
};

fn run_probes() {
    let block = probe_alloc(PROBE_LAYOUT);
    if !block.is_null() {
        let grown = probe_realloc(block, PROBE_LAYOUT, 2 * PROBE_LAYOUT.size());
        let (last, size) = if grown.is_null() {
            (block, PROBE_LAYOUT.size())
        } else {
            (grown, 2 * PROBE_LAYOUT.size())
        };
        // SAFETY: `last` is the live block, allocated with this size and alignment.
        unsafe { std::alloc::dealloc(last, Layout::from_size_align_unchecked(size, 8)) };
    }
    let zeroed = probe_alloc_zeroed(PROBE_LAYOUT);
    if !zeroed.is_null() {
        // SAFETY: `zeroed` was allocated with `PROBE_LAYOUT`.
        unsafe { std::alloc::dealloc(zeroed, PROBE_LAYOUT) };
    }
}

#[inline(never)]
fn probe_alloc(layout: Layout) -> *mut u8 {
    // SAFETY: `layout` has a non-zero size.
    let block = unsafe { std::alloc::alloc(layout) };
    core::hint::black_box(block)
}

#[inline(never)]
fn probe_alloc_zeroed(layout: Layout) -> *mut u8 {
    // SAFETY: `layout` has a non-zero size.
    let block = unsafe { std::alloc::alloc_zeroed(layout) };
    core::hint::black_box(block)
}

#[inline(never)]
fn probe_realloc(block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    // SAFETY: `block` is live and was allocated with `layout`; `new_size` is non-zero and
    // does not overflow when rounded to the alignment.
    let block = unsafe { std::alloc::realloc(block, layout, new_size) };
    core::hint::black_box(block)
}

type ProbeAlloc = fn(Layout) -> *mut u8;
type ProbeRealloc = fn(*mut u8, Layout, usize) -> *mut u8;

fn is_probe_return(address: usize) -> bool {
    returns_into(address, probe_alloc as ProbeAlloc as usize)
        || returns_into(address, probe_alloc_zeroed as ProbeAlloc as usize)
        || returns_into(address, probe_realloc as ProbeRealloc as usize)
}

/// Inside a probe's allocation: remembers the return addresses between `capture` and the probe.
/// Kept out of `capture`, whose frame stays small; its own first return address (into
/// `capture`) is learned too, harmlessly: no capture's walk ever meets it.
#[cold]
#[inline(never)]
fn learn_from_probe() {
    let mut raw = [0usize; 16];
    // SAFETY: the walk writes only return addresses.
    let written = walk_from_here(unsafe { slots_of(&mut raw) }, |_| false);
    let Some(probe) = raw[..written].iter().position(|&ra| is_probe_return(ra)) else {
        return;
    };
    // `raw[0]` returns into `capture`; the path proper starts at `capture`'s caller.
    let path = &raw[1..probe.max(1)];
    let probe_function = raw[probe];
    let mut learned = probe;
    if !path.is_empty() && returns_into(probe_function, probe_alloc as ProbeAlloc as usize) {
        ALLOC_PATH.record(path);
    }
    if !path.is_empty() && returns_into(probe_function, probe_alloc_zeroed as ProbeAlloc as usize) {
        // A zeroed path that enters the allocator through its `alloc` runs `GlobalAlloc`'s
        // default `alloc_zeroed`. The frames that adds above `alloc` (the default method, the
        // shim it is inlined into) are frames of dhat's stacks too, so heap walks keep them;
        // the call-site table drops them (see `past_zeroed_frames`).
        let mut plain = [0usize; AllocatorPath::CAPACITY];
        let shared = shared_prefix_len(path, ALLOC_PATH.copy_into(&mut plain));
        if shared > 0 {
            learned = 1 + shared;
            for &address in &raw[learned..probe] {
                ZEROED_KEPT.insert(address);
            }
        }
        ZEROED_PATH.record(path);
    }
    for &address in &raw[..learned] {
        LEARNED.insert(address);
    }
}

/// The return addresses of a zeroed allocation's own frames that walks keep (see
/// [`zeroed_allocator_path`]). Written only while calibrating, like [`LEARNED`].
static ZEROED_KEPT: ReturnSet = ReturnSet::new();

/// How many return addresses [`past_zeroed_frames`] may drop: 0 unless the allocator takes
/// `GlobalAlloc`'s default `alloc_zeroed` (see [`zeroed_allocator_path`]). One load.
#[inline(always)]
pub(crate) fn zeroed_frames_kept() -> usize {
    ZEROED_KEPT.len()
}

/// `frames` past the leading frames that a default `alloc_zeroed` adds (see
/// [`zeroed_allocator_path`]): what the call-site table records, which keeps no allocator
/// frame.
pub(crate) fn past_zeroed_frames(mut frames: &[usize]) -> &[usize] {
    while let Some((&first, rest)) = frames.split_first() {
        if !ZEROED_KEPT.contains(first) {
            break;
        }
        frames = rest;
    }
    frames
}

/// How many leading addresses `a` and `b` share.
pub(crate) fn shared_prefix_len(a: &[usize], b: &[usize]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The allocator's own frames on the path from `std::alloc::alloc` to a capture, as the
/// calibration probe saw them: return addresses, innermost first, from the one into
/// `capture`'s caller to the one into the function that the allocating code called (the
/// allocator shim, when the shim keeps a frame of its own). Empty until calibration has run
/// through a `ModAlloc`.
///
/// Which of these frames exist depends on how each crate was optimised, the shim's being
/// compiled with the crate that declares the `#[global_allocator]`; reports name them to
/// count the frames dhat's own allocator would have had (see `report::dhat`).
pub(crate) fn allocator_path() -> Vec<usize> {
    ALLOC_PATH.get()
}

/// [`allocator_path`] for `std::alloc::alloc_zeroed`: the calibration probe's frames from the
/// one into `capture`'s caller to the one into the function that the allocating code called.
///
/// Where it starts with the frames of [`allocator_path`] (the allocator implements
/// `alloc_zeroed` by `GlobalAlloc`'s default method, which calls `alloc`, as
/// `dhat_compat::Alloc` does), walks skip only those shared frames: the rest are the frames
/// the default method adds, kept in front of the caller as dhat keeps them (see
/// `report::dhat`). Otherwise walks skip them all, as on the other paths.
pub(crate) fn zeroed_allocator_path() -> Vec<usize> {
    ZEROED_PATH.get()
}

static ALLOC_PATH: AllocatorPath = AllocatorPath::new();
static ZEROED_PATH: AllocatorPath = AllocatorPath::new();

/// Storage for [`allocator_path`]: written once, by the first calibration to finish its
/// `alloc` probe. Two calibrations running at once walk the same code and would write the
/// same addresses; the claim keeps the second from writing at all.
struct AllocatorPath {
    /// 0: free; [`AllocatorPath::WRITING`]: claimed; otherwise the number of addresses + 1.
    state: AtomicUsize,
    addresses: [AtomicUsize; AllocatorPath::CAPACITY],
}

impl AllocatorPath {
    const CAPACITY: usize = 8;
    const WRITING: usize = usize::MAX;

    const fn new() -> AllocatorPath {
        #[allow(clippy::declare_interior_mutable_const)] // array initialiser
        const EMPTY: AtomicUsize = AtomicUsize::new(0);
        AllocatorPath {
            state: AtomicUsize::new(0),
            addresses: [EMPTY; AllocatorPath::CAPACITY],
        }
    }

    /// Keeps `path` unless one is kept already. A path longer than the capacity is not
    /// kept: reports then fall back to the build's opt level.
    fn record(&self, path: &[usize]) {
        if path.len() > AllocatorPath::CAPACITY
            || self
                .state
                .compare_exchange(
                    0,
                    AllocatorPath::WRITING,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return;
        }
        for (slot, &address) in self.addresses.iter().zip(path) {
            slot.store(address, Ordering::Relaxed);
        }
        // Release: a reader that sees the length sees the addresses.
        self.state.store(path.len() + 1, Ordering::Release);
    }

    /// Copies the kept path into `out` without allocating (a capture inside the allocator
    /// reads it); empty if none is kept.
    fn copy_into<'a>(&self, out: &'a mut [usize; AllocatorPath::CAPACITY]) -> &'a [usize] {
        let len = match self.state.load(Ordering::Acquire) {
            0 | AllocatorPath::WRITING => 0,
            stored => stored - 1,
        };
        for (slot, out) in self.addresses[..len].iter().zip(out.iter_mut()) {
            *out = slot.load(Ordering::Relaxed);
        }
        &out[..len]
    }

    fn get(&self) -> Vec<usize> {
        let mut out = [0; AllocatorPath::CAPACITY];
        self.copy_into(&mut out).to_vec()
    }
}

/// Self-test outcome: unknown, passed, failed, or not run for lack of stack bounds.
static SELF_TEST: AtomicU8 = AtomicU8::new(SELF_TEST_UNKNOWN);
const SELF_TEST_UNKNOWN: u8 = 0;
const SELF_TEST_PASSED: u8 = 1;
const SELF_TEST_FAILED: u8 = 2;
const SELF_TEST_NO_BOUNDS: u8 = 3;

/// Whether frame pointers look missing from this build: a walk from a known chain of three
/// non-inlined functions did not find its callers. The self-test runs once, on first call; it
/// neither allocates nor locks. Always `false` on Windows, whose system unwinder needs no
/// frame pointers; on other targets without a walker; and when the calling thread's stack
/// bounds are unavailable (the walk could not be made, which says nothing about the build;
/// see [`stack_bounds_unavailable`]).
pub(crate) fn frame_pointers_look_missing() -> bool {
    if cfg!(windows) || !cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        return false;
    }
    let outcome = match SELF_TEST.load(Ordering::Relaxed) {
        SELF_TEST_UNKNOWN => {
            let outcome = self_test_outcome();
            SELF_TEST.store(outcome, Ordering::Relaxed);
            outcome
        }
        known => known,
    };
    outcome == SELF_TEST_FAILED
}

/// Runs the self-test on the calling thread and classifies the result.
fn self_test_outcome() -> u8 {
    if self_test_outer() {
        SELF_TEST_PASSED
    } else if this_thread_has_no_stack_bounds() {
        SELF_TEST_NO_BOUNDS
    } else {
        SELF_TEST_FAILED
    }
}

/// How far past a probe function's entry a return address into it may lie. The probes are a
/// few instructions long; this leaves room for debug builds and instrumentation.
const PROBE_SPAN: usize = 512;

/// Whether `address` is a return address into the function starting at `entry`.
fn returns_into(address: usize, entry: usize) -> bool {
    address > entry && address - entry < PROBE_SPAN
}

#[inline(never)]
fn self_test_outer() -> bool {
    let passed = self_test_middle();
    // Work after the call keeps it a real call rather than a tail jump.
    core::hint::black_box(passed)
}

#[inline(never)]
fn self_test_middle() -> bool {
    let passed = self_test_inner();
    core::hint::black_box(passed)
}

#[inline(never)]
fn self_test_inner() -> bool {
    let mut frames = [0usize; 4];
    // The record at this function's frame pointer holds the return address into `middle`.
    // SAFETY: the walk writes only return addresses.
    let written = walk_from_here(unsafe { slots_of(&mut frames) }, |_| false);
    let middle = self_test_middle as fn() -> bool as usize;
    let outer = self_test_outer as fn() -> bool as usize;
    written >= 2 && returns_into(frames[0], middle) && returns_into(frames[1], outer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `depth` frames of recursion, then `at_bottom` of the frames there.
    #[inline(never)]
    fn nested<R>(depth: usize, at_bottom: &mut dyn FnMut() -> R) -> R {
        if depth == 0 {
            at_bottom()
        } else {
            let result = nested(depth - 1, at_bottom);
            core::hint::black_box(depth);
            result
        }
    }

    /// The bottom of a stack deeper than any capture comes out whole, and agrees with a full
    /// capture of a shallower one.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[test]
    fn the_outermost_frames_are_those_at_the_bottom_of_the_whole_chain() {
        if frame_pointers_look_missing() {
            return; // nothing to compare; the walk tests that need them say so
        }
        // Each depth is walked on a thread of its own that runs the same code, so below
        // `nested` the two stacks are one.
        #[inline(never)]
        fn measure(depth: usize) -> (Vec<usize>, Option<Vec<usize>>, [usize; 8], bool) {
            nested(depth, &mut || {
                let mut full = [0usize; MAX_FRAMES];
                let captured = capture_from_caller(&mut full, 0);
                let mut whole = [0usize; MAX_FRAMES];
                let (kept_whole, whole_complete) = outermost_from_here(&mut whole);
                let mut tail = [0usize; 8];
                let (kept, complete) = outermost_from_here(&mut tail);
                assert_eq!(kept, 8);
                let whole = whole_complete.then(|| whole[..kept_whole].to_vec());
                (full[..captured].to_vec(), whole, tail, complete)
            })
        }
        let runs: Vec<_> = [10, 3 * MAX_FRAMES]
            .into_iter()
            .map(|depth| std::thread::spawn(move || measure(depth)).join().unwrap())
            .collect();
        let (full, whole, shallow_tail, complete) = &runs[0];
        assert!(full.len() > 12 && full.len() < MAX_FRAMES, "{full:x?}");
        let whole = whole.as_ref().expect("a shallow stack fits whole");
        // The walks start at different call sites in the closure; above them all is one.
        assert_eq!(whole[1..], full[1..]);
        assert!(!complete, "more than 8 frames");
        assert_eq!(shallow_tail[..], full[full.len() - 8..]);
        let (_, deep_whole, deep_tail, deep_complete) = &runs[1];
        assert!(
            deep_whole.is_none() && !deep_complete,
            "too deep for either"
        );
        assert_eq!(deep_tail, shallow_tail, "the same bottom");
    }

    /// `count` addresses whose probing starts at slot `home`.
    fn homing_at(home: usize, count: usize) -> Vec<usize> {
        (0x1000usize..)
            .step_by(16)
            .filter(|&address| ReturnSet::home(address) == home)
            .take(count)
            .collect()
    }

    #[test]
    fn a_return_set_finds_addresses_past_collisions_and_across_the_end() {
        for home in [5, ReturnSet::SLOTS - 1] {
            let set = ReturnSet::new();
            let same_home = homing_at(home, 4);
            for &address in &same_home[..3] {
                set.insert(address);
            }
            for &address in &same_home[..3] {
                assert!(set.contains(address), "{address:#x} from slot {home}");
            }
            assert!(!set.contains(same_home[3]));
            // Repeats and 0 take no room.
            set.insert(same_home[1]);
            set.insert(0);
            assert_eq!(set.len(), 3);
        }
    }

    #[test]
    fn a_full_return_set_keeps_what_it_has_and_refuses_more() {
        let set = ReturnSet::new();
        let many = homing_at(9, ReturnSet::CAPACITY + 4);
        for &address in &many {
            set.insert(address);
        }
        assert_eq!(set.len(), ReturnSet::CAPACITY);
        for (i, &address) in many.iter().enumerate() {
            assert_eq!(
                set.contains(address),
                i < ReturnSet::CAPACITY,
                "address {i}"
            );
        }
    }

    #[test]
    fn return_sets_filled_from_two_threads_hold_every_address_once() {
        let set = ReturnSet::new();
        let addresses = homing_at(20, 8);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| addresses.iter().for_each(|&address| set.insert(address)));
            }
        });
        assert!(addresses.iter().all(|&address| set.contains(address)));
        let filled = set
            .slots
            .iter()
            .filter(|slot| slot.load(Ordering::Relaxed) != 0)
            .count();
        assert_eq!(filled, addresses.len());
    }
}
