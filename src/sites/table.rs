//! The lock-free table that turns a frame list into a stable [`SiteId`].
//!
//! # Shape
//!
//! The table is a chain of segments. The first has the configured capacity and each later
//! one is twice the size of the one before, up to [`MAX_SEGMENTS`] segments and
//! [`MAX_TOTAL_SLOTS`] slots in all. A frame list is looked up in the segments in chain
//! order, probing at most [`MAX_PROBES`] consecutive slots in each (linear probing from the
//! slot its hash picks), so a lookup costs a bounded number of slot visits however full the
//! table is. A list that finds neither itself nor a free slot in any segment is *unplaced*:
//! the caller counts it, and reports show the count.
//!
//! # Identity
//!
//! A site is its full frame list. The 64-bit hash only chooses where probing starts and
//! skips most non-matching slots cheaply; a slot matches only when its length and every
//! frame are equal. Two lists whose hashes collide therefore occupy two slots.
//!
//! # The slot state machine
//!
//! Each slot has one state word: `EMPTY` (0), a phase (`CLAIMING`, `READY`) tagged with
//! the capture generation that owns it, or `RETIRING`, which only the sweep sets, briefly.
//!
//! ```text
//!   EMPTY --CAS by an inserter (AcqRel)--> CLAIMING(g) --store (Release)--> READY(g)
//!     ^  ^                                      |                            |    ^
//!     |  +-- store (Release), memory refused ---+             sweep (SeqCst) |    |
//!     |                                                                      v    |
//!     +-- sweep, no flush in progress (Release) ------------------------ RETIRING |
//!                                                                            |    |
//!                                       sweep, a flush in progress (Release) +----+
//! ```
//!
//! - Only the thread whose compare-and-swap took a slot out of `EMPTY` writes its frames,
//!   length and hash, and it does so before the `Release` store of `READY`. Every reader loads
//!   the state with `Acquire` before reading those fields, so a reader that sees `READY(g)`
//!   sees the complete frame list.
//! - An inserter that meets `CLAIMING(g)` of its own generation waits for the outcome before
//!   moving on (the claimer may be inserting the same list). The wait is bounded; an inserter
//!   that gives up reports [`Unplaced::Busy`] instead of placing the list elsewhere.
//! - A slot holding another generation's claim or site is occupied and never matches.
//!
//! Together these keep one invariant: within a generation, a list is stored in the first slot
//! of its probe sequence that was `EMPTY` when it was inserted, and no `EMPTY` slot precedes
//! it. An inserter that reaches an `EMPTY` slot therefore knows the list is nowhere in the
//! table, and two threads inserting the same list always race for the same slot.
//!
//! # Generations and reuse
//!
//! The table belongs to a capture session (see [`super`]). A new session does not allocate a
//! new table: it [sweeps](Table::sweep) the old one back to `EMPTY`, zeroing the counters
//! (except where a late flush is adding to them, see below), and bumps the generation. The
//! sweep leaves alone any slot a straggler from the previous session is still claiming; that
//! slot ends as a `READY` site of an old generation, which the new generation treats as
//! occupied until the next sweep.
//!
//! Frame storage is a separate buffer per slot from [`System`], kept across sweeps for the
//! next site that claims the slot. A buffer too short for a new list is replaced and the old
//! one is deliberately leaked, since a straggler may still be reading it. Buffers have
//! capacities of 16, 32 or 64 frames, so each slot leaks at most two buffers over the life
//! of the process.
//!
//! # Flushes and sweeps
//!
//! A site's shared counters receive the events that per-thread caches flush (see
//! [`super::threads`]), and a flush can come late: a thread that loaded generation `g` just
//! before the last session ended and a new one began may flush an entry of `g` after the
//! sweep, when its slot is empty or already holds another list for `g + 1`. Adding blindly
//! would credit that list with events it never had (or leave them in the counters of an
//! empty slot for its next site to inherit). So a flush adds only to a slot still in
//! `READY(g)` ([`Slot::add_if_site_of`]), and the check and the additions are made atomic
//! with respect to the sweep by a handshake on a per-slot count of flushes in progress:
//!
//! - a flush increments `flushing`, loads the state, adds if it read `READY(g)`, and
//!   decrements `flushing`;
//! - the sweep stores `RETIRING`, then loads `flushing`. If it is zero it zeroes the
//!   counters and stores `EMPTY`; otherwise it puts `READY(g)` back, and the slot stays a
//!   site of its old generation, occupied and never matched, until a later sweep.
//!
//! The increment, the two state accesses and the load of `flushing` are `SeqCst`, so in
//! their single order either the sweep sees the flush (and keeps its counters away from any
//! new site) or the flush sees `RETIRING` or something later (and adds nothing). A flush
//! that reads `READY(g)` after the sweep has emptied the slot can only meet a straggler's
//! site of the same finished generation `g`, which no later report reads and the next sweep
//! zeroes. The late flush's events are dropped from the finished generation, as the
//! session docs in [`super`] allow. The cost falls on flushes alone (two more atomic
//! read-modify-writes on a line the flush writes anyway); a cache hit does not flush. The
//! loom model `a_late_flush_never_reaches_the_next_generation` checks the handshake in every
//! interleaving of a flush with a sweep and the next generation's claim.

use core::ptr;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::alloc::{GlobalAlloc, Layout, System};

use super::primitive::{
    seq_cst_fence_for_loom, spin_wait, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize,
    ZEROED_IS_VALID,
};
use super::SiteId;

/// Slots probed per segment before moving to the next segment.
pub(crate) const MAX_PROBES: usize = 32;
/// Longest chain of segments.
pub(crate) const MAX_SEGMENTS: usize = 8;
/// Most slots in all segments together.
pub(crate) const MAX_TOTAL_SLOTS: usize = 1 << 24;
/// Rounds an inserter waits for another thread's claim before giving up: 64 spins, then
/// yields to the scheduler (several milliseconds in all, far longer than any claim takes
/// unless the claimer is stopped or is this very thread, re-entered from a signal handler).
const MAX_WAIT_ROUNDS: u32 = 1 << 14;
/// Smallest frame buffer, in frames.
const MIN_FRAME_CAPACITY: usize = 16;

const PHASE_BITS: u32 = 2;
const PHASE_MASK: u32 = (1 << PHASE_BITS) - 1;
const EMPTY: u32 = 0;
const CLAIMING: u32 = 1;
const READY: u32 = 2;
/// A site the sweep is taking away: occupied, never matched, and closed to flushes.
const RETIRING: u32 = 3;

/// The largest generation a state word can carry.
pub(crate) const MAX_GENERATION: u32 = u32::MAX >> PHASE_BITS;

#[inline(always)]
const fn tagged(generation: u32, phase: u32) -> u32 {
    (generation << PHASE_BITS) | phase
}

/// Why a frame list could not be given a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unplaced {
    /// Every probed slot of every segment was taken and the chain could not grow (at its
    /// limit, or out of memory), or the slot's frame buffer could not be allocated.
    Full,
    /// Another thread held the list's slot for longer than the bounded wait.
    Busy,
}

/// Hashes a frame list. Only chooses where probing starts; identity compares frames.
///
/// Four independent lanes each take every fourth frame, so the multiplications overlap in
/// the CPU instead of forming one serial chain (16 frames cost about 5 dependent multiplies,
/// not 16).
#[inline]
pub(crate) fn hash_frames(frames: &[usize]) -> u64 {
    const K: [u64; 4] = [
        0x517c_c1b7_2722_0a95,
        0x9e37_79b9_7f4a_7c15,
        0xc2b2_ae3d_27d4_eb4f,
        0x1656_67b1_9e37_79f9,
    ];
    let mut lanes = K;
    for chunk in frames.chunks(4) {
        for ((lane, k), &frame) in lanes.iter_mut().zip(K).zip(chunk) {
            *lane = (*lane ^ frame as u64).wrapping_mul(k).rotate_left(29);
        }
    }
    let mut hash = (frames.len() as u64)
        ^ lanes[0]
        ^ lanes[1].rotate_left(16)
        ^ lanes[2].rotate_left(32)
        ^ lanes[3].rotate_left(48);
    // Final avalanche, so that the low bits used for the slot index depend on every frame.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^ (hash >> 33)
}

/// One call site, or room for one.
pub(crate) struct Slot {
    state: AtomicU32,
    len: AtomicU32,
    hash: AtomicU64,
    frames: AtomicPtr<AtomicUsize>,
    frame_capacity: AtomicU32,
    /// Flushes adding to `count` and `bytes` at this moment (see [`Slot::add_if_site_of`]).
    flushing: AtomicU32,
    /// Events flushed here from the per-thread caches, and their bytes (see `super::threads`).
    /// Only [`Slot::add_if_site_of`] adds to them.
    pub(crate) count: AtomicU64,
    pub(crate) bytes: AtomicU64,
}

/// What an inserter found in one slot.
enum Visit {
    Found,
    Occupied,
    Busy,
    NoMemory,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            state: AtomicU32::new(EMPTY),
            len: AtomicU32::new(0),
            hash: AtomicU64::new(0),
            frames: AtomicPtr::new(ptr::null_mut()),
            frame_capacity: AtomicU32::new(0),
            flushing: AtomicU32::new(0),
            count: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Finds `frames` in this slot, or claims the slot for them if it is empty.
    fn visit(&self, frames: &[usize], hash: u64, generation: u32) -> Visit {
        let claiming = tagged(generation, CLAIMING);
        let ready = tagged(generation, READY);
        let mut spins = 0u32;
        loop {
            // Acquire: pairs with the Release store of READY in `claim`, so when we see READY
            // the claimer's writes of hash, length and frames happen-before our reads of them.
            // It also pairs with the Release store of EMPTY in `sweep`.
            let state = self.state.load(Acquire);
            if state == ready {
                return if self.holds(frames, hash) {
                    Visit::Found
                } else {
                    Visit::Occupied
                };
            }
            if state == EMPTY {
                // AcqRel on success: Acquire synchronises with the sweep's Release store of
                // EMPTY, so its zeroed counters and the kept frame buffer are what we see;
                // Release is not needed for the data (the READY store publishes it) but makes
                // the claim itself ordered after our earlier reads of the slot. Acquire on
                // failure: we re-read the state that beat us, as in the load above.
                match self
                    .state
                    .compare_exchange(EMPTY, claiming, AcqRel, Acquire)
                {
                    Ok(_) => return self.claim(frames, hash, ready),
                    Err(_) => continue,
                }
            }
            if state == claiming {
                // Someone in our generation is writing this slot; it may be our own list.
                spins += 1;
                if spins > MAX_WAIT_ROUNDS {
                    return Visit::Busy;
                }
                spin_wait(spins);
                continue;
            }
            // A site or claim of another generation: occupied, never ours.
            return Visit::Occupied;
        }
    }

    /// Writes `frames` into a slot this thread has just moved to CLAIMING, then publishes it.
    fn claim(&self, frames: &[usize], hash: u64, ready: u32) -> Visit {
        let Some(buffer) = self.frame_buffer(frames.len()) else {
            // Release: hands the slot (and the unchanged buffer fields) back to the next
            // claimer, whose Acquire CAS synchronises with this store.
            self.state.store(EMPTY, Release);
            return Visit::NoMemory;
        };
        for (i, &frame) in frames.iter().enumerate() {
            // SAFETY: `frame_buffer` returned a buffer of at least `frames.len()` atomics.
            unsafe { &*buffer.add(i) }.store(frame, Relaxed);
        }
        // Release: pairs with the Acquire load in `frame_list`, for readers that saw an
        // older publication of this slot (see there).
        self.len.store(frames.len() as u32, Release);
        self.hash.store(hash, Relaxed);
        // Release: publishes the frames, length and hash written above to every thread whose
        // Acquire load of the state reads READY.
        self.state.store(ready, Release);
        Visit::Found
    }

    /// A buffer of at least `len` frames, reusing the slot's own when it is long enough.
    /// Only the thread holding the claim calls this.
    fn frame_buffer(&self, len: usize) -> Option<*mut AtomicUsize> {
        let current = self.frames.load(Relaxed);
        if !current.is_null() && self.frame_capacity.load(Relaxed) as usize >= len {
            return Some(current);
        }
        let capacity = len.max(MIN_FRAME_CAPACITY).checked_next_power_of_two()?;
        // Kept as a `u32` (captures are at most 64 frames), so the slot stays 48 bytes.
        let stored_capacity = u32::try_from(capacity).ok()?;
        let buffer = alloc_atomics(capacity)?;
        // The old buffer, if any, is leaked on purpose: see the module docs.
        self.frames.store(buffer, Relaxed);
        self.frame_capacity.store(stored_capacity, Relaxed);
        Some(buffer)
    }

    /// Whether a READY slot holds exactly `frames`. The caller loaded READY with Acquire.
    #[inline]
    fn holds(&self, frames: &[usize], hash: u64) -> bool {
        self.hash.load(Relaxed) == hash && self.holds_frames(frames)
    }

    /// Whether this slot is a site of `generation` holding exactly `frames`, compared frame
    /// by frame (no hash needed). For the per-thread site caches.
    #[inline]
    pub(crate) fn is_site_of(&self, generation: u32, frames: &[usize]) -> bool {
        self.is_ready(generation) && self.holds_frames(frames)
    }

    #[inline]
    fn holds_frames(&self, frames: &[usize]) -> bool {
        let (buffer, len) = self.frame_list();
        if len != frames.len() {
            return false;
        }
        // Branch-free: equal lists (the common case on a hot site) read every frame anyway.
        let difference = frames
            .iter()
            .enumerate()
            .fold(0, |difference, (i, &frame)| {
                // SAFETY: `frame_list` gives a buffer of at least `len` frames, and buffers are
                // never freed while the table lives.
                difference | (unsafe { &*buffer.add(i) }.load(Relaxed) ^ frame)
            });
        difference == 0
    }

    /// The frame buffer and the length of the list in it: the buffer holds at least that
    /// many frames.
    ///
    /// The state a caller loaded may be an older publication than the length and buffer it
    /// reads here: a straggler of a finished generation can read a slot while the sweep
    /// empties it and a new site claims it, replacing the buffer with a longer one for a
    /// longer list. Acquire: pairs with the Release store of the length in `claim`, which
    /// follows the store of the buffer that holds the list, so a reader that sees a length
    /// sees that buffer or a later one. Buffers are only ever replaced by longer ones and
    /// never freed, so the length never runs past the buffer read with it.
    #[inline(always)]
    fn frame_list(&self) -> (*mut AtomicUsize, usize) {
        let len = self.len.load(Acquire) as usize;
        (self.frames.load(Relaxed), len)
    }

    /// Whether this slot is a published site of `generation`.
    #[inline]
    pub(crate) fn is_ready(&self, generation: u32) -> bool {
        // Acquire: as in `visit`, makes the published frames visible to the caller.
        self.state.load(Acquire) == tagged(generation, READY)
    }

    /// Appends the frames of a slot the caller saw READY (through [`Slot::is_ready`]).
    pub(crate) fn copy_frames(&self, out: &mut Vec<usize>) {
        let (buffer, len) = self.frame_list();
        out.extend((0..len).map(|i| {
            // SAFETY: as in `holds_frames`.
            unsafe { &*buffer.add(i) }.load(Relaxed)
        }));
    }

    /// Adds `count` events of `bytes` in all to this slot's counters if it is still the site
    /// of `generation` that the caller found; `false`, adding nothing, if a sweep has taken
    /// it (see "Flushes and sweeps" in the module docs).
    ///
    /// The caller found the site in `generation`, so a slot in `READY(generation)` holds
    /// either that site or, after a sweep, a straggler's site of the same finished
    /// generation, which no report of a later generation reads.
    pub(crate) fn add_if_site_of(&self, generation: u32, count: u64, bytes: u64) -> bool {
        // SeqCst, with the load below: the two halves of the handshake with `retire`, which
        // stores RETIRING and then loads `flushing`, both SeqCst. In their single total order
        // either this increment comes first, and `retire` sees it (then leaves the counters
        // alone) or the decrement below (then zeroes them after our additions), or its store
        // comes first, and the load below cannot see this slot's old READY(generation).
        self.flushing.fetch_add(1, SeqCst);
        seq_cst_fence_for_loom();
        let current = self.state.load(SeqCst) == tagged(generation, READY);
        if current {
            self.count.fetch_add(count, Relaxed);
            self.bytes.fetch_add(bytes, Relaxed);
        }
        // Release: a `retire` whose SeqCst load reads this decrement (or a later value) sees
        // the additions above, and zeroes the counters after them.
        self.flushing.fetch_sub(1, Release);
        current
    }

    /// Returns a published site to EMPTY with zero counters, unless a flush may be adding to
    /// it at this moment, in which case it stays a site of its old generation until a later
    /// sweep. Only the sweep calls this.
    fn retire(&self) {
        let state = self.state.load(Acquire);
        if state & PHASE_MASK != READY {
            // EMPTY, or a straggler's claim from the previous session: left alone.
            return;
        }
        // SeqCst: see `add_if_site_of`. Nothing else moves a READY slot, so a plain store
        // cannot lose another thread's change.
        self.state.store(RETIRING, SeqCst);
        seq_cst_fence_for_loom();
        if self.flushing.load(SeqCst) != 0 {
            // Release: as a READY store in `claim`; the frames never changed.
            self.state.store(state, Release);
            return;
        }
        self.count.store(0, Relaxed);
        self.bytes.store(0, Relaxed);
        // Release: the zeroed counters happen-before the next claimer's AcqRel CAS and any
        // inserter's Acquire load that sees EMPTY.
        self.state.store(EMPTY, Release);
    }
}

/// Allocates `count` zeroed atomics from the system allocator.
fn alloc_atomics(count: usize) -> Option<*mut AtomicUsize> {
    let layout = Layout::array::<AtomicUsize>(count).ok()?;
    if ZEROED_IS_VALID {
        // SAFETY: the layout has a non-zero size (`count` >= 16).
        let memory = unsafe { System.alloc_zeroed(layout) }.cast::<AtomicUsize>();
        return (!memory.is_null()).then_some(memory);
    }
    // SAFETY: as above.
    let memory = unsafe { System.alloc(layout) }.cast::<AtomicUsize>();
    if memory.is_null() {
        return None;
    }
    for i in 0..count {
        // SAFETY: `memory` has room for `count` values and nothing there needs dropping.
        unsafe { memory.add(i).write(AtomicUsize::new(0)) };
    }
    Some(memory)
}

/// A contiguous run of slots.
struct Segment {
    slots: *mut Slot,
    capacity: usize,
    /// Id of this segment's first slot, minus one.
    base: usize,
    /// The next, twice-as-large segment, or null.
    next: AtomicPtr<Segment>,
}

impl Segment {
    fn allocate(capacity: usize, base: usize) -> *mut Segment {
        let Ok(slots_layout) = Layout::array::<Slot>(capacity) else {
            return ptr::null_mut();
        };
        // SAFETY: `capacity` >= 1, so the layout has a non-zero size.
        let slots = unsafe {
            if ZEROED_IS_VALID {
                // All-zero is EMPTY with zero counters and no buffer.
                System.alloc_zeroed(slots_layout)
            } else {
                System.alloc(slots_layout)
            }
        }
        .cast::<Slot>();
        if slots.is_null() {
            return ptr::null_mut();
        }
        if !ZEROED_IS_VALID {
            for i in 0..capacity {
                // SAFETY: `slots` has room for `capacity` slots, none initialised yet.
                unsafe { slots.add(i).write(Slot::new()) };
            }
        }
        // SAFETY: a plain struct layout with a non-zero size.
        let segment = unsafe { System.alloc(Layout::new::<Segment>()) }.cast::<Segment>();
        if segment.is_null() {
            // SAFETY: allocated just above with this layout; never shared.
            unsafe { free_slots(slots, capacity) };
            return ptr::null_mut();
        }
        // SAFETY: freshly allocated with room for one `Segment`.
        unsafe {
            segment.write(Segment {
                slots,
                capacity,
                base,
                next: AtomicPtr::new(ptr::null_mut()),
            })
        };
        segment
    }

    #[inline(always)]
    fn slot(&self, index: usize) -> &Slot {
        debug_assert!(index < self.capacity);
        // SAFETY: `index < capacity`, and every slot was initialised at allocation.
        unsafe { &*self.slots.add(index) }
    }

    fn slots(&self) -> impl Iterator<Item = (usize, &Slot)> {
        (0..self.capacity).map(move |index| (index, self.slot(index)))
    }
}

/// Drops and frees a slot array and the frame buffers its slots own.
///
/// # Safety
///
/// `slots` came from [`Segment::allocate`] with `capacity`, and nothing uses it any more.
unsafe fn free_slots(slots: *mut Slot, capacity: usize) {
    for i in 0..capacity {
        // SAFETY: the caller guarantees the array is valid and unused.
        let slot = unsafe { &mut *slots.add(i) };
        let buffer = slot.frames.load(Relaxed);
        if !buffer.is_null() {
            let frame_capacity = slot.frame_capacity.load(Relaxed) as usize;
            for j in 0..frame_capacity {
                // SAFETY: the buffer holds `frame_capacity` initialised atomics.
                unsafe { ptr::drop_in_place(buffer.add(j)) };
            }
            if let Ok(layout) = Layout::array::<AtomicUsize>(frame_capacity) {
                // SAFETY: allocated by `alloc_atomics` with this layout.
                unsafe { System.dealloc(buffer.cast(), layout) };
            }
        }
        // SAFETY: initialised at allocation and dropped once, here.
        unsafe { ptr::drop_in_place(slot) };
    }
    if let Ok(layout) = Layout::array::<Slot>(capacity) {
        // SAFETY: allocated by `Segment::allocate` with this layout.
        unsafe { System.dealloc(slots.cast(), layout) };
    }
}

/// The call-site table: a chain of segments searched in order.
pub(crate) struct Table {
    first: AtomicPtr<Segment>,
    first_capacity: usize,
    max_segments: usize,
}

// SAFETY: all shared state is atomics; the raw pointers are to memory the table owns and
// only frees in `drop`, which needs `&mut self`.
unsafe impl Send for Table {}
// SAFETY: as above; concurrent access follows the protocol in the module docs.
unsafe impl Sync for Table {}

impl Table {
    /// A table whose first segment has `capacity` slots (a power of two). `None` if the
    /// system allocator refused.
    pub(crate) fn new(capacity: usize) -> Option<Table> {
        Table::with_limit(capacity, MAX_SEGMENTS)
    }

    /// As [`Table::new`], with at most `max_segments` segments.
    pub(crate) fn with_limit(capacity: usize, max_segments: usize) -> Option<Table> {
        debug_assert!(capacity.is_power_of_two());
        let first = Segment::allocate(capacity, 0);
        if first.is_null() {
            return None;
        }
        Some(Table {
            first: AtomicPtr::new(first),
            first_capacity: capacity,
            max_segments,
        })
    }

    /// Finds or inserts `frames` (whose hash is `hash`) for `generation`.
    pub(crate) fn intern(
        &self,
        frames: &[usize],
        hash: u64,
        generation: u32,
    ) -> Result<(SiteId, &Slot), Unplaced> {
        let mut link = &self.first;
        let mut capacity = self.first_capacity;
        let mut base = 0usize;
        for _ in 0..self.max_segments {
            let Some(segment) = self.segment_at(link, capacity, base) else {
                break;
            };
            let mask = segment.capacity - 1;
            for probe in 0..MAX_PROBES.min(segment.capacity) {
                let index = (hash as usize).wrapping_add(probe) & mask;
                let slot = segment.slot(index);
                match slot.visit(frames, hash, generation) {
                    Visit::Found => return Ok((SiteId((base + index + 1) as u32), slot)),
                    Visit::Occupied => {}
                    Visit::Busy => return Err(Unplaced::Busy),
                    Visit::NoMemory => return Err(Unplaced::Full),
                }
            }
            base += segment.capacity;
            capacity = segment.capacity * 2;
            link = &segment.next;
        }
        Err(Unplaced::Full)
    }

    /// The segment stored in `link`, allocating and linking it if there is none yet.
    fn segment_at(
        &self,
        link: &AtomicPtr<Segment>,
        capacity: usize,
        base: usize,
    ) -> Option<&Segment> {
        // Acquire: pairs with the Release half of the CAS below, so a segment seen here is
        // fully initialised.
        let current = link.load(Acquire);
        if !current.is_null() {
            // SAFETY: linked segments are initialised and live as long as the table.
            return Some(unsafe { &*current });
        }
        if base + capacity > MAX_TOTAL_SLOTS || u32::try_from(base + capacity).is_err() {
            return None;
        }
        let fresh = Segment::allocate(capacity, base);
        if fresh.is_null() {
            return None;
        }
        // Release on success: publishes the initialised segment to later Acquire loads.
        // Acquire on failure: we then use the winner's segment, which must be initialised.
        match link.compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire) {
            // SAFETY: `fresh` is initialised and now owned by the table.
            Ok(_) => Some(unsafe { &*fresh }),
            Err(winner) => {
                // SAFETY: `fresh` was never shared; free it as it was allocated.
                unsafe { free_segment(fresh) };
                // SAFETY: as for `current` above.
                Some(unsafe { &*winner })
            }
        }
    }

    fn segments(&self) -> impl Iterator<Item = &Segment> {
        // Acquire: as in `segment_at`.
        let mut cursor = self.first.load(Acquire);
        core::iter::from_fn(move || {
            // SAFETY: linked segments are initialised and live as long as the table.
            let segment: &Segment = unsafe { cursor.as_ref() }?;
            cursor = segment.next.load(Acquire);
            Some(segment)
        })
    }

    /// The slot behind `id`, whatever its state.
    #[cfg(test)]
    pub(crate) fn slot(&self, id: SiteId) -> Option<&Slot> {
        let index = (id.0 as usize).checked_sub(1)?;
        let segment = self.segments().find(|s| index < s.base + s.capacity)?;
        (index >= segment.base).then(|| segment.slot(index - segment.base))
    }

    /// Calls `f` for every site published in `generation`.
    pub(crate) fn for_each_site(&self, generation: u32, mut f: impl FnMut(SiteId, &Slot)) {
        for segment in self.segments() {
            for (index, slot) in segment.slots() {
                if slot.is_ready(generation) {
                    f(SiteId((segment.base + index + 1) as u32), slot);
                }
            }
        }
    }

    /// Slots in all segments, and the number of segments.
    pub(crate) fn capacity(&self) -> (u64, u32) {
        self.segments().fold((0, 0), |(slots, count), s| {
            (slots + s.capacity as u64, count + 1)
        })
    }

    /// Returns every published site to EMPTY with zero counters, ready for a new generation,
    /// except those a flush is adding to at that moment. Callers must not sweep from two
    /// threads at once.
    pub(crate) fn sweep(&self) {
        for segment in self.segments() {
            for (_, slot) in segment.slots() {
                slot.retire();
            }
        }
    }
}

/// Frees one segment and its slots.
///
/// # Safety
///
/// `segment` came from [`Segment::allocate`] and nothing uses it any more.
unsafe fn free_segment(segment: *mut Segment) {
    // SAFETY: the caller guarantees the segment is valid and unused.
    let Segment {
        slots, capacity, ..
    } = unsafe { segment.read() };
    // SAFETY: the slots belong to this unused segment.
    unsafe { free_slots(slots, capacity) };
    // SAFETY: allocated in `Segment::allocate` with this layout.
    unsafe { System.dealloc(segment.cast(), Layout::new::<Segment>()) };
}

impl Drop for Table {
    fn drop(&mut self) {
        let mut cursor = self.first.load(Acquire);
        while !cursor.is_null() {
            // SAFETY: `&mut self` means no other thread uses the table; each segment is
            // read for its successor before it is freed.
            let next = unsafe { &*cursor }.next.load(Acquire);
            // SAFETY: as above.
            unsafe { free_segment(cursor) };
            cursor = next;
        }
    }
}

#[cfg(all(test, not(mod_alloc_loom)))]
mod tests {
    use super::*;

    fn frames_of(table: &Table, id: SiteId, generation: u32) -> Option<Vec<usize>> {
        let slot = table.slot(id)?;
        slot.is_ready(generation).then(|| {
            let mut out = Vec::new();
            slot.copy_frames(&mut out);
            out
        })
    }

    #[test]
    fn same_list_same_site_and_frames_round_trip() {
        let table = Table::new(64).unwrap();
        let frames = [0x1000, 0x2000, 0x3000];
        let (a, _) = table.intern(&frames, hash_frames(&frames), 1).unwrap();
        let (b, _) = table.intern(&frames, hash_frames(&frames), 1).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.0, 0);
        assert_eq!(frames_of(&table, a, 1).unwrap(), frames);
    }

    #[test]
    fn forced_hash_collision_keeps_lists_apart() {
        let table = Table::new(64).unwrap();
        let first = [0x10, 0x20, 0x30];
        let second = [0x10, 0x20, 0x31];
        let prefix = [0x10, 0x20];
        let forced = 0xdead_beef;
        let (a, _) = table.intern(&first, forced, 1).unwrap();
        let (b, _) = table.intern(&second, forced, 1).unwrap();
        let (c, _) = table.intern(&prefix, forced, 1).unwrap();
        assert!(a != b && b != c && a != c);
        assert_eq!(table.intern(&second, forced, 1).unwrap().0, b);
        assert_eq!(frames_of(&table, a, 1).unwrap(), first);
        assert_eq!(frames_of(&table, b, 1).unwrap(), second);
        assert_eq!(frames_of(&table, c, 1).unwrap(), prefix);
    }

    #[test]
    fn grows_into_larger_segments_and_keeps_ids_stable() {
        let table = Table::new(4).unwrap();
        let lists: Vec<[usize; 2]> = (0..40).map(|i| [i, i * 7 + 1]).collect();
        let ids: Vec<SiteId> = lists
            .iter()
            .map(|f| table.intern(f, hash_frames(f), 1).unwrap().0)
            .collect();
        let (slots, segments) = table.capacity();
        assert!(segments > 1, "40 sites cannot fit in 4 slots");
        assert!(slots >= 40);
        for (list, id) in lists.iter().zip(&ids) {
            assert_eq!(table.intern(list, hash_frames(list), 1).unwrap().0, *id);
            assert_eq!(frames_of(&table, *id, 1).unwrap(), list);
        }
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len());
    }

    #[test]
    fn a_full_chain_reports_unplaced() {
        let table = Table::with_limit(4, 2).unwrap(); // 4 + 8 slots at most
        let mut placed = 0;
        let mut unplaced = 0;
        for i in 0..20usize {
            let frames = [i + 1];
            match table.intern(&frames, hash_frames(&frames), 1) {
                Ok(_) => placed += 1,
                Err(reason) => {
                    assert_eq!(reason, Unplaced::Full);
                    unplaced += 1;
                }
            }
        }
        assert_eq!(placed, 12);
        assert_eq!(unplaced, 8);
    }

    #[test]
    fn sweep_starts_a_clean_generation() {
        let table = Table::new(8).unwrap();
        let frames = [7, 8, 9];
        let (id, slot) = table.intern(&frames, hash_frames(&frames), 1).unwrap();
        slot.count.store(5, Relaxed);
        table.sweep();
        assert!(frames_of(&table, id, 1).is_none());
        let mut seen = 0;
        table.for_each_site(2, |_, _| seen += 1);
        assert_eq!(seen, 0);
        let (again, slot) = table.intern(&frames, hash_frames(&frames), 2).unwrap();
        assert_eq!(slot.count.load(Relaxed), 0);
        assert_eq!(frames_of(&table, again, 2).unwrap(), frames);
    }

    #[test]
    fn flushes_add_only_to_the_site_of_their_generation() {
        let table = Table::new(8).unwrap();
        let frames = [7, 8, 9];
        let (_, slot) = table.intern(&frames, hash_frames(&frames), 1).unwrap();
        assert!(slot.add_if_site_of(1, 2, 16));
        assert!(!slot.add_if_site_of(2, 5, 50), "another generation's site");
        assert_eq!(
            (slot.count.load(Relaxed), slot.bytes.load(Relaxed)),
            (2, 16)
        );
        table.sweep();
        assert!(!slot.add_if_site_of(1, 5, 50), "swept");
        assert_eq!((slot.count.load(Relaxed), slot.bytes.load(Relaxed)), (0, 0));
        assert_eq!(slot.flushing.load(Relaxed), 0);
    }

    #[test]
    fn a_sweep_leaves_a_site_being_flushed_to_a_later_sweep() {
        let table = Table::new(8).unwrap();
        let frames = [7, 8, 9];
        let hash = hash_frames(&frames);
        let (id, slot) = table.intern(&frames, hash, 1).unwrap();
        assert!(slot.add_if_site_of(1, 3, 30));
        // A flush is between its check and its additions while the sweep runs.
        slot.flushing.fetch_add(1, Relaxed);
        table.sweep();
        assert_eq!(
            frames_of(&table, id, 1).unwrap(),
            frames,
            "kept, with its frames"
        );
        assert_eq!(slot.count.load(Relaxed), 3, "counters untouched");
        let (elsewhere, fresh) = table.intern(&frames, hash, 2).unwrap();
        assert_ne!(elsewhere, id, "occupied for the new generation");
        assert_eq!(fresh.count.load(Relaxed), 0);
        slot.flushing.fetch_sub(1, Relaxed);
        table.sweep();
        assert!(frames_of(&table, id, 1).is_none());
        assert_eq!((slot.count.load(Relaxed), slot.bytes.load(Relaxed)), (0, 0));
        let (reused, _) = table.intern(&[1], hash, 3).unwrap();
        assert_eq!(reused, id, "free again");
    }

    #[test]
    fn flushes_racing_a_sweep_never_reach_the_next_site() {
        // A straggler keeps flushing into the slot it found in an odd generation while this
        // thread sweeps and claims the slot for the next, even generation: that site must
        // stay at zero.
        use std::sync::atomic::{AtomicBool, AtomicU32 as StdU32};
        let table = Table::new(8).unwrap();
        let hash = 0x5eed;
        let rounds = if cfg!(miri) { 5 } else { 300 };
        let published = StdU32::new(0);
        let picked_up = StdU32::new(0);
        let done = AtomicBool::new(false);
        /// Stops the straggler even when an assertion fails, so the scope can end.
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Relaxed);
            }
        }
        std::thread::scope(|scope| {
            let _stop = Stop(&done);
            scope.spawn(|| {
                let mut found = None;
                while !done.load(Relaxed) {
                    let generation = published.load(Acquire);
                    if found.map(|(g, _)| g) != Some(generation) {
                        let slot = table.intern(&[1], hash, generation).unwrap().1;
                        found = Some((generation, slot));
                        picked_up.store(generation, Release);
                    }
                    if let Some((generation, slot)) = found {
                        slot.add_if_site_of(generation, 1, 1);
                    }
                }
            });
            for round in 0..rounds {
                let old = 2 * round + 1;
                table.intern(&[1], hash, old).unwrap();
                published.store(old, Release);
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                while picked_up.load(Acquire) != old {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "the straggler stopped"
                    );
                    std::thread::yield_now();
                }
                table.sweep();
                let (_, slot) = table.intern(&[2], hash, old + 1).unwrap();
                for _ in 0..3 {
                    std::thread::yield_now();
                }
                assert_eq!(slot.count.load(Relaxed), 0, "round {round}");
            }
        });
    }

    #[test]
    fn other_generations_are_occupied_not_matched() {
        let table = Table::new(8).unwrap();
        let frames = [1, 2];
        let hash = hash_frames(&frames);
        let (old, _) = table.intern(&frames, hash, 1).unwrap();
        // A straggler's site from generation 1 is not swept: generation 2 places beside it.
        let (new, _) = table.intern(&frames, hash, 2).unwrap();
        assert_ne!(old, new);
    }

    #[test]
    fn threads_inserting_the_same_lists_agree() {
        let table = Table::new(16).unwrap();
        let lists: Vec<Vec<usize>> = (0..if cfg!(miri) { 8 } else { 200 })
            .map(|i| vec![i, i + 100, 3])
            .collect();
        let ids: Vec<Vec<SiteId>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    scope.spawn(|| {
                        lists
                            .iter()
                            .map(|f| table.intern(f, hash_frames(f), 1).unwrap().0)
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.windows(2).all(|w| w[0] == w[1]));
        let mut count = 0;
        table.for_each_site(1, |_, _| count += 1);
        assert_eq!(count, lists.len());
    }
}

#[cfg(all(test, mod_alloc_loom))]
mod loom_tests {
    //! Run with `RUSTFLAGS="--cfg mod_alloc_loom" cargo test --release --features backtraces
    //! --lib loom`.
    use super::*;
    use loom::sync::Arc;

    fn sites(table: &Table) -> Vec<(SiteId, Vec<usize>)> {
        let mut out = Vec::new();
        table.for_each_site(1, |id, slot| {
            let mut frames = Vec::new();
            slot.copy_frames(&mut frames);
            out.push((id, frames));
        });
        out
    }

    #[test]
    fn a_late_flush_never_reaches_the_next_generation() {
        loom::model(|| {
            let table = Arc::new(Table::new(4).unwrap());
            let (id, slot) = table.intern(&[1], 7, 1).unwrap();
            assert!(slot.add_if_site_of(1, 1, 1));
            let other = Arc::clone(&table);
            // A straggler flushes an entry of generation 1 while a new session sweeps and
            // generation 2 inserts another list with the same first probe.
            let straggler =
                loom::thread::spawn(move || other.slot(id).unwrap().add_if_site_of(1, 10, 100));
            table.sweep();
            let (_, new) = table.intern(&[2], 7, 2).unwrap();
            let flushed = straggler.join().unwrap();
            assert_eq!(
                (new.count.load(Relaxed), new.bytes.load(Relaxed)),
                (0, 0),
                "the new site was credited with generation 1's events"
            );
            let old = table.slot(id).unwrap();
            if !core::ptr::eq(old, new) {
                // The sweep saw the flush in progress and kept the old site, untouched.
                let kept = (old.count.load(Relaxed), old.bytes.load(Relaxed));
                assert_eq!(kept, if flushed { (11, 101) } else { (1, 1) });
            }
            assert_eq!(old.flushing.load(Relaxed), 0);
        });
    }

    #[test]
    fn a_straggler_never_reads_past_a_frame_buffer() {
        loom::model(|| {
            let table = Arc::new(Table::new(1).unwrap());
            let (id, slot) = table.intern(&[1], 7, 1).unwrap();
            let first_buffer = slot.frames.load(Relaxed) as usize;
            let first_capacity = slot.frame_capacity.load(Relaxed) as usize;
            let other = Arc::clone(&table);
            // A straggler of generation 1 reads the slot's list while a new session sweeps
            // it and generation 2 claims it for a list too long for its first buffer.
            let straggler = loom::thread::spawn(move || {
                let (buffer, len) = other.slot(id).unwrap().frame_list();
                assert!(
                    buffer as usize != first_buffer || len <= first_capacity,
                    "a length of {len} read with the buffer of {first_capacity} frames"
                );
            });
            table.sweep();
            let long: Vec<usize> = (1..=first_capacity + 1).collect();
            table.intern(&long, 7, 2).unwrap();
            straggler.join().unwrap();
        });
    }

    #[test]
    fn two_threads_insert_one_list_once() {
        loom::model(|| {
            let table = Arc::new(Table::new(4).unwrap());
            let other = Arc::clone(&table);
            let frames = [0xa, 0xb];
            let hash = hash_frames(&frames);
            let thread = loom::thread::spawn(move || other.intern(&frames, hash, 1).unwrap().0);
            let mine = table.intern(&frames, hash, 1).unwrap().0;
            let theirs = thread.join().unwrap();
            assert_eq!(mine, theirs);
            assert_eq!(sites(&table), vec![(mine, frames.to_vec())]);
        });
    }

    #[test]
    fn colliding_lists_from_two_threads_stay_apart() {
        loom::model(|| {
            let table = Arc::new(Table::new(4).unwrap());
            let other = Arc::clone(&table);
            let thread = loom::thread::spawn(move || other.intern(&[1, 2], 99, 1).unwrap().0);
            let mine = table.intern(&[1, 3], 99, 1).unwrap().0;
            let theirs = thread.join().unwrap();
            assert_ne!(mine, theirs);
            let mut found = sites(&table);
            found.sort();
            let mut expected = vec![(mine, vec![1, 3]), (theirs, vec![1, 2])];
            expected.sort();
            assert_eq!(found, expected);
        });
    }

    #[test]
    fn three_threads_two_lists() {
        let mut builder = loom::model::Builder::new();
        // Three threads and a spinning wait: bound preemptions to keep the model small.
        builder.preemption_bound = Some(1);
        builder.max_branches = 100_000;
        builder.check(|| {
            let table = Arc::new(Table::new(2).unwrap());
            let spawn = |frames: [usize; 1]| {
                let table = Arc::clone(&table);
                loom::thread::spawn(move || table.intern(&frames, 5, 1).unwrap().0)
            };
            let a = spawn([1]);
            let b = spawn([1]);
            let c = table.intern(&[2], 5, 1).unwrap().0;
            let (a, b) = (a.join().unwrap(), b.join().unwrap());
            assert_eq!(a, b);
            assert_ne!(a, c);
            assert_eq!(sites(&table).len(), 2);
        });
    }
}
