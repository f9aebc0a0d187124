//! The calling thread's private state, reached from the allocator hot path.
//!
//! # Rules for thread-locals inside a global allocator
//!
//! - The one `thread_local!` here has a `const` initialiser and no `Drop`. It compiles to plain
//!   thread-pointer-relative loads and stores: first use does not allocate, and no destructor
//!   is registered (a global allocator must not register one).
//! - It is reached with `try_with`, so a thread being torn down can never make it panic; an
//!   event that cannot reach it is counted in the shared orphan counters instead.
//! - Thread exit is observed through [`crate::sys::register_thread_exit`], which publishes the
//!   thread's pending net and hands its counter slot back.
//!
//! # What the state holds
//!
//! - `active`: the [`Slot`] whose counters events go to, or null. A non-null `active` means
//!   "record into this slot", so the fast path tests one pointer. It is null before the
//!   thread's first event, while the thread is suspended and after its exit hook ran, so all
//!   of those take the one branch to [`record_slow`].
//! - `net`: this thread's running net bytes, its peaks and its drift from the published level
//!   ([`ThreadNet`], kept as two distances so an event checks both with one subtraction).
//! - `own`, `exited`: the thread's slot, acquired on first use, and whether the exit hook has
//!   handed it back (later events then go to the orphan counters).
//! - the scope stack: exact peaks for nested thread-scoped measurements.
//! - `suspended`: a depth counter; while it is non-zero the thread's events are not recorded,
//!   so the crate's own work (reading the call-site table, building DHAT documents,
//!   symbolication) never shows up in the figures.
//! - `heap_quiet` (feature `dhat-compat`): a depth counter; while it is non-zero the heap
//!   profiler leaves the thread's events out, as dhat does for the user's code it ignores (an
//!   assertion's condition, a state panic), but the counters and call sites still see them.

use core::cell::Cell;
use core::ptr;

use crate::counters::net::ThreadNet;
use crate::counters::peak;
use crate::counters::slots::{self, Counts, Slot, ORPHAN};

/// How many thread-scoped measurements can nest with exact peaks.
const MAX_SCOPES: usize = 32;

#[repr(C)] // what every event touches first, so the fast path reaches it with one base register
pub(crate) struct ThreadState {
    /// `own` while recording; null before the first event, while suspended, after exit.
    active: Cell<*const Slot>,
    net: ThreadNet,
    own: Cell<Option<&'static Slot>>,
    exited: Cell<bool>,
    suspended: Cell<u32>,
    #[cfg(feature = "dhat-compat")]
    heap_quiet: Cell<u32>,
    scope_depth: Cell<usize>,
    next_scope_id: Cell<u64>,
    scope_ids: [Cell<u64>; MAX_SCOPES],
    /// `scope_saved[k]` is the highest net between the starts of scope `k - 1` and scope `k`:
    /// the scope peak that opening scope `k` replaced (for `k = 0`, the peak before any scope).
    scope_saved: [Cell<i64>; MAX_SCOPES],
}

#[allow(clippy::declare_interior_mutable_const)] // array-initialiser constants
const ZERO_I64: Cell<i64> = Cell::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ZERO_U64: Cell<u64> = Cell::new(0);

thread_local! {
    static STATE: ThreadState = const {
        ThreadState {
            active: Cell::new(ptr::null()),
            net: ThreadNet::new(),
            own: Cell::new(None),
            exited: Cell::new(false),
            suspended: Cell::new(0),
            #[cfg(feature = "dhat-compat")]
            heap_quiet: Cell::new(0),
            scope_depth: Cell::new(0),
            next_scope_id: Cell::new(1),
            scope_ids: [ZERO_U64; MAX_SCOPES],
            scope_saved: [ZERO_I64; MAX_SCOPES],
        }
    };
}

/// Runs `f` on this thread's state; `None` if thread-local storage is gone.
#[inline(always)]
fn with<R>(f: impl FnOnce(&ThreadState) -> R) -> Option<R> {
    STATE.try_with(f).ok()
}

/// The slot the calling thread records into, if it is recording, and its net: one
/// thread-local load and a null test.
#[inline(always)]
fn recording_into(record: impl FnOnce(&'static Slot, &ThreadNet) -> bool) -> bool {
    STATE
        .try_with(|state| {
            // SAFETY: `active` is only ever null or a pointer made from a `&'static Slot`
            // (`ThreadState::resume`).
            match unsafe { state.active.get().as_ref() } {
                Some(slot) => record(slot, &state.net),
                None => false,
            }
        })
        .unwrap_or(false)
}

// The fast paths below never call anything, so the inlined allocator methods keep their
// registers free. `false` sends the caller to the matching `*_slow` function, which is cold;
// `alloc_slow` takes the new block's pointer along and returns it, so that `alloc` can
// tail-call it.

/// Records a successful allocation of `size` bytes (from `alloc` or `alloc_zeroed`); `false`
/// when [`alloc_slow`] must finish the job.
#[inline(always)]
pub(crate) fn record_alloc(size: usize) -> bool {
    recording_into(|slot, net| {
        slot.counters.owned_alloc(size as u64);
        net.rise(size as u64)
    })
}

/// Records a deallocation of `size` bytes; `false` when [`dealloc_slow`] must finish the job.
#[inline(always)]
pub(crate) fn record_dealloc(size: usize) -> bool {
    recording_into(|slot, net| {
        slot.counters.owned_dealloc(size as u64);
        net.fall(size as u64)
    })
}

/// Records a successful reallocation from `old_size` to `new_size` bytes; `false` when
/// [`realloc_slow`] must finish the job.
#[inline(always)]
pub(crate) fn record_realloc(old_size: usize, new_size: usize) -> bool {
    recording_into(|slot, net| {
        slot.counters
            .owned_realloc(old_size as u64, new_size as u64);
        if new_size >= old_size {
            net.rise((new_size - old_size) as u64)
        } else {
            net.fall((old_size - new_size) as u64)
        }
    })
}

/// Finishes an allocation [`record_alloc`] did not; returns `ptr`.
#[cold]
#[inline(never)]
pub(crate) fn alloc_slow(ptr: *mut u8, size: usize) -> *mut u8 {
    record_slow(Event::Alloc, size, 0);
    ptr
}

/// Finishes a deallocation [`record_dealloc`] did not.
#[cold]
#[inline(never)]
pub(crate) fn dealloc_slow(size: usize) {
    record_slow(Event::Dealloc, size, 0);
}

/// Finishes a reallocation [`record_realloc`] did not.
#[cold]
#[inline(never)]
pub(crate) fn realloc_slow(old_size: usize, new_size: usize) {
    record_slow(Event::Realloc, old_size, new_size);
}

/// The kind of event handed to [`record_slow`].
#[derive(Clone, Copy)]
enum Event {
    /// `(size, _)`
    Alloc,
    /// `(size, _)`
    Dealloc,
    /// `(old size, new size)`
    Realloc,
}

/// Everything the fast path leaves:
///
/// - the fast path recorded the event (`active` is set) and the drift calls for publishing;
/// - the thread is suspended: nothing to record;
/// - the thread's first event: acquire a slot, then record;
/// - no slot to be had (the exit hook ran, or memory is exhausted): the event goes to the
///   shared orphan counters and is published at once.
fn record_slow(event: Event, a: usize, b: usize) {
    let (a, b) = (a as u64, b as u64);
    let delta = match event {
        Event::Alloc => Counts {
            allocs: 1,
            bytes_allocated: a,
            ..Counts::default()
        },
        Event::Dealloc => Counts {
            deallocs: 1,
            bytes_freed: a,
            ..Counts::default()
        },
        Event::Realloc => Counts {
            reallocs: 1,
            bytes_freed: a,
            bytes_allocated: b,
            ..Counts::default()
        },
    };
    let recorded = with(|state| {
        if !state.active.get().is_null() {
            // The fast path recorded the event; its net needs a publication.
            state.net.settle();
            return true;
        }
        if state.suspended.get() != 0 {
            return true;
        }
        let Some(slot) = state.slot() else {
            return false;
        };
        slot.counters.owned_add(delta);
        let net = &state.net;
        let settled = if delta.bytes_allocated >= delta.bytes_freed {
            net.rise(delta.bytes_allocated - delta.bytes_freed)
        } else {
            net.fall(delta.bytes_freed - delta.bytes_allocated)
        };
        if !settled {
            net.settle();
        }
        true
    });
    if recorded != Some(true) {
        ORPHAN.shared_add(delta);
        let net = delta.bytes_allocated.wrapping_sub(delta.bytes_freed) as i64;
        peak::publish(net, net.max(0));
    }
}

impl ThreadState {
    /// This thread's slot, acquired on first use; `None` after the thread's exit hook ran or
    /// if no slot could be had.
    #[inline(always)]
    fn slot(&self) -> Option<&'static Slot> {
        match self.own.get() {
            Some(slot) => Some(slot),
            None if self.exited.get() => None,
            None => self.acquire_slot(),
        }
    }

    #[cold]
    #[inline(never)]
    fn acquire_slot(&self) -> Option<&'static Slot> {
        let slot = slots::acquire()?;
        self.own.set(Some(slot));
        self.resume();
        // Without an exit notification (a refused key, an unsupported OS) the slot simply stays
        // this thread's for good: counts stay exact, only the slot is not recycled.
        let _notified = crate::sys::register_thread_exit(
            on_thread_exit,
            (slot as *const Slot).cast_mut().cast(),
        );
        Some(slot)
    }

    /// Points `active` at the thread's slot if it is recording, at nothing otherwise.
    fn resume(&self) {
        let active = match self.own.get() {
            Some(slot) if self.suspended.get() == 0 => slot as *const Slot,
            _ => ptr::null(),
        };
        self.active.set(active);
    }
}

/// Thread-exit hook: publish what is pending and hand the slot to a later thread.
///
/// Only for the thread that owns `slot`. On Windows the hook is a fiber-local destructor,
/// which also runs when a fiber is deleted, on whichever thread deletes it; a slot that a
/// live thread still writes must not be handed out, so then nothing is released (the slot
/// stays with its thread).
fn on_thread_exit(slot: *mut u8) {
    let owned = with(|state| {
        let owned = state
            .own
            .get()
            .is_some_and(|own| ptr::eq(own, slot.cast_const().cast()));
        if owned {
            state.net.publish();
            state.own.set(None);
            state.exited.set(true);
            state.active.set(ptr::null());
        }
        owned
    });
    // No thread-local state to compare with: the thread is being torn down, and the hook is
    // its own.
    if !owned.unwrap_or(true) {
        return;
    }
    #[cfg(feature = "backtraces")]
    crate::sites::release_thread();
    #[cfg(feature = "dhat-compat")]
    crate::heap::release_thread();
    // SAFETY: the hook is registered only with pointers to `'static` slots.
    let slot: &Slot = unsafe { &*slot.cast_const().cast::<Slot>() };
    slots::release(slot);
}

/// Whether the calling thread's events are being recorded (not suspended, TLS alive).
#[cfg_attr(not(feature = "backtraces"), allow(dead_code))]
#[inline(always)]
pub(crate) fn recording() -> bool {
    with(|state| state.suspended.get() == 0).unwrap_or(false)
}

/// Whether the heap profiler records the calling thread's events: [`recording`], and no
/// [`HeapQuiet`] lives.
#[cfg(feature = "dhat-compat")]
#[inline(always)]
pub(crate) fn heap_recording() -> bool {
    with(|state| state.suspended.get() == 0 && state.heap_quiet.get() == 0).unwrap_or(false)
}

/// Publishes the calling thread's pending net, so the global level and peaks include it.
pub(crate) fn publish_pending() {
    let _ = with(|state| state.net.publish());
}

/// A snapshot of the calling thread's own counters and net bytes.
pub(crate) fn own_snapshot() -> (Counts, i64) {
    with(|state| {
        state
            .slot()
            .map(|slot| (slot.counters.load(), state.net.net()))
    })
    .flatten()
    .unwrap_or_default()
}

/// Identifies one thread-scoped measurement on the scope stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScopeId(u64);

/// Opens a thread-scoped peak measurement; its peak is read with [`scope_peak`].
pub(crate) fn open_scope() -> ScopeId {
    with(|state| {
        let id = state.next_scope_id.get();
        state.next_scope_id.set(id.wrapping_add(1));
        let depth = state.scope_depth.get();
        if depth < MAX_SCOPES {
            state.scope_saved[depth].set(state.net.start_scope_peak());
            state.scope_ids[depth].set(id);
            state.scope_depth.set(depth + 1);
        }
        ScopeId(id)
    })
    .unwrap_or(ScopeId(0))
}

/// The highest net this thread reached since `scope` opened (exact while at most
/// 32 scopes are open; deeper ones get the peak since the 32nd opened).
pub(crate) fn scope_peak(scope: ScopeId) -> i64 {
    with(|state| {
        let current = state.net.scope_peak();
        let depth = state.scope_depth.get();
        let position = (0..depth)
            .find(|&k| state.scope_ids[k].get() == scope.0)
            .unwrap_or(depth);
        let later = ((position + 1)..depth).map(|k| state.scope_saved[k].get());
        later.fold(current, i64::max)
    })
    .unwrap_or(0)
}

/// Closes a scope, in any order relative to the others, keeping the outer scopes exact.
pub(crate) fn close_scope(scope: ScopeId) {
    let _ = with(|state| {
        let depth = state.scope_depth.get();
        let Some(position) = (0..depth).find(|&k| state.scope_ids[k].get() == scope.0) else {
            return;
        };
        let saved = state.scope_saved[position].get();
        if position + 1 == depth {
            state.net.merge_scope_peak(saved);
        } else {
            let next = &state.scope_saved[position + 1];
            next.set(next.get().max(saved));
            for k in position..depth - 1 {
                state.scope_ids[k].set(state.scope_ids[k + 1].get());
                state.scope_saved[k].set(state.scope_saved[k + 1].get());
            }
        }
        state.scope_depth.set(depth - 1);
    });
}

/// While a `Suspended` value lives, the calling thread's allocator events are not recorded.
/// Used around the crate's own work: the blocks it allocates are freed before it ends.
// The call-site tiers and the report writers use this; tier 1 alone has no own work to hide.
#[cfg_attr(not(feature = "backtraces"), allow(dead_code))]
#[derive(Debug)]
pub(crate) struct Suspended(());

#[cfg_attr(not(feature = "backtraces"), allow(dead_code))]
impl Suspended {
    pub(crate) fn new() -> Suspended {
        let _ = with(|state| {
            state.suspended.set(state.suspended.get() + 1);
            state.active.set(ptr::null());
        });
        Suspended(())
    }
}

impl Suspended {
    /// Ends a suspension whose guard was forgotten with `mem::forget`: for the fork
    /// handlers, which suspend in one callback and resume in another.
    #[cfg(feature = "dhat-compat")]
    pub(crate) fn end_forgotten() {
        drop(Suspended(()));
    }
}

impl Drop for Suspended {
    fn drop(&mut self) {
        let _ = with(|state| {
            state.suspended.set(state.suspended.get().saturating_sub(1));
            state.resume();
        });
    }
}

/// While a `HeapQuiet` value lives, the heap profiler leaves the calling thread's allocator
/// events out, and only it: for the user's code that dhat keeps out of its profile (an
/// assertion's condition, the panic of a misused profiler).
///
/// The counters and call sites still count that code, allocations and frees alike. A
/// [`Suspended`] would hide them from those too, and a block allocated unseen there (a panic's
/// payload) but freed in view later, once the panic is caught, would count as a free with no
/// allocation.
#[cfg(feature = "dhat-compat")]
#[derive(Debug)]
pub(crate) struct HeapQuiet(());

#[cfg(feature = "dhat-compat")]
impl HeapQuiet {
    pub(crate) fn new() -> HeapQuiet {
        let _ = with(|state| state.heap_quiet.set(state.heap_quiet.get() + 1));
        HeapQuiet(())
    }
}

#[cfg(feature = "dhat-compat")]
impl Drop for HeapQuiet {
    fn drop(&mut self) {
        let _ = with(|state| {
            state
                .heap_quiet
                .set(state.heap_quiet.get().saturating_sub(1))
        });
    }
}

/// A value the crate made for its own use with recording suspended, which is freed the same
/// way when it is dropped.
///
/// A block allocated while suspended but freed while recording would count as a free with
/// no allocation, and the figures would drift below zero. Internal results that outlive a
/// [`Suspended`] scope (a report's document, a rendered profile) are kept in one of these;
/// what is finally handed to the user is copied out with recording on, so it counts as the
/// user's own allocation, allocated and freed alike.
#[cfg(feature = "dhat-compat")]
pub(crate) struct Unrecorded<T>(core::mem::ManuallyDrop<T>);

#[cfg(feature = "dhat-compat")]
impl<T> Unrecorded<T> {
    /// Runs `make` with recording suspended and keeps what it returns.
    pub(crate) fn make(make: impl FnOnce() -> T) -> Unrecorded<T> {
        let _suspended = Suspended::new();
        Unrecorded(core::mem::ManuallyDrop::new(make()))
    }
}

#[cfg(feature = "dhat-compat")]
impl<T> core::ops::Deref for Unrecorded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

#[cfg(feature = "dhat-compat")]
impl<T> Drop for Unrecorded<T> {
    fn drop(&mut self) {
        let _suspended = Suspended::new();
        // SAFETY: the value is dropped here, once, and `self` is never used again.
        unsafe { core::mem::ManuallyDrop::drop(&mut self.0) };
    }
}
