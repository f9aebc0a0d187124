//! The calling thread's private accounting state, reached from the allocator hot path.
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
//! - `slot`: the thread's shared [`Slot`] of counters (`NO_SLOT` before its first event,
//!   `EXITED` after its exit hook has run).
//! - `net`, `published`, `peak_since_publish`: this thread's running net bytes and what it has
//!   published to the global level (see [`crate::counters::peak`]).
//! - `scope_peak` and the scope stack: exact peaks for thread-scoped measurements.
//! - `suspended`: a depth counter; while it is non-zero the thread's events are not recorded,
//!   so the crate's own work (reports, symbolication) never shows up in the figures.

use core::cell::Cell;
use core::ptr;

use crate::counters::peak::{self, PUBLISH_BYTES};
use crate::counters::slots::{self, Counts, Slot, ORPHAN};

/// How many thread-scoped measurements can nest with exact peaks.
const MAX_SCOPES: usize = 32;

const NO_SLOT: *const Slot = ptr::null();
/// A non-null, never-dereferenced sentinel: slots are 64-byte aligned, so address 1 is no slot.
const EXITED: *const Slot = 1 as *const Slot;

pub(crate) struct ThreadState {
    slot: Cell<*const Slot>,
    suspended: Cell<u32>,
    net: Cell<i64>,
    published: Cell<i64>,
    /// `published - PUBLISH_BYTES`: a free that takes `net` below it publishes.
    publish_floor: Cell<i64>,
    peak_since_publish: Cell<i64>,
    scope_peak: Cell<i64>,
    scope_depth: Cell<usize>,
    next_scope_id: Cell<u64>,
    scope_ids: [Cell<u64>; MAX_SCOPES],
    /// `scope_saved[k]` is the highest net between the starts of scope `k` and scope `k + 1`
    /// (or the outer register value when `k` is the outermost).
    scope_saved: [Cell<i64>; MAX_SCOPES],
}

#[allow(clippy::declare_interior_mutable_const)] // array-initialiser constants
const ZERO_I64: Cell<i64> = Cell::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ZERO_U64: Cell<u64> = Cell::new(0);

thread_local! {
    static STATE: ThreadState = const {
        ThreadState {
            slot: Cell::new(NO_SLOT),
            suspended: Cell::new(0),
            net: Cell::new(0),
            published: Cell::new(0),
            publish_floor: Cell::new(-PUBLISH_BYTES),
            peak_since_publish: Cell::new(0),
            scope_peak: Cell::new(0),
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

/// What the inlined fast path did with an event.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Recorded (or deliberately ignored: the thread is suspended).
    Done,
    /// Recorded, and the thread's net has drifted far enough to publish.
    Publish,
    /// Not recorded: the thread has no slot yet, no longer has one, or has no TLS.
    NoSlot,
}

/// The fast path shared by every event: no calls, no locked instructions. `update` changes
/// the counters and the net and says whether the drift calls for a publication. Anything
/// else goes to [`record_slow`], which is cold, so the inlined allocator methods keep their
/// registers free and can tail-call the inner allocator.
#[inline(always)]
fn record_fast(update: impl FnOnce(&ThreadState, &Slot) -> bool) -> Outcome {
    let outcome = STATE.try_with(|state| {
        if state.suspended.get() != 0 {
            return Outcome::Done;
        }
        let slot = state.slot.get();
        if slot.is_null() || slot == EXITED {
            return Outcome::NoSlot;
        }
        // SAFETY: a non-sentinel pointer here was stored by `acquire_slot` from a `&'static`.
        if update(state, unsafe { &*slot }) {
            Outcome::Publish
        } else {
            Outcome::Done
        }
    });
    outcome.unwrap_or(Outcome::NoSlot)
}

/// Records a successful allocation of `size` bytes (from `alloc` or `alloc_zeroed`).
#[inline(always)]
pub(crate) fn record_alloc(size: usize) {
    let outcome = record_fast(|state, slot| {
        slot.counters.owned_alloc(size as u64);
        state.add_net_up(size as i64)
    });
    if outcome != Outcome::Done {
        record_slow(outcome, Event::Alloc, size, 0);
    }
}

/// Records a deallocation of `size` bytes. Frees never raise a peak, so only the drift is
/// checked.
#[inline(always)]
pub(crate) fn record_dealloc(size: usize) {
    let outcome = record_fast(|state, slot| {
        slot.counters.owned_dealloc(size as u64);
        state.add_net_down(size as i64)
    });
    if outcome != Outcome::Done {
        record_slow(outcome, Event::Dealloc, size, 0);
    }
}

/// Records a successful reallocation from `old_size` to `new_size` bytes.
#[inline(always)]
pub(crate) fn record_realloc(old_size: usize, new_size: usize) {
    let outcome = record_fast(|state, slot| {
        slot.counters
            .owned_realloc(old_size as u64, new_size as u64);
        if new_size >= old_size {
            state.add_net_up((new_size - old_size) as i64)
        } else {
            state.add_net_down((old_size - new_size) as i64)
        }
    });
    if outcome != Outcome::Done {
        record_slow(outcome, Event::Realloc, old_size, new_size);
    }
}

/// The kind of event handed to [`record_slow`]. The sizes travel as plain arguments so the
/// fast path needs no stack frame to call it.
#[derive(Clone, Copy)]
enum Event {
    /// `(size, _)`
    Alloc,
    /// `(size, _)`
    Dealloc,
    /// `(old size, new size)`
    Realloc,
}

/// Everything the fast path leaves: publishing a drifted net, acquiring a first slot, and
/// events that cannot have a slot (counted in the shared orphan counters and published at
/// once).
#[cold]
#[inline(never)]
fn record_slow(outcome: Outcome, event: Event, a: usize, b: usize) {
    if outcome == Outcome::Publish {
        publish_pending();
        return;
    }
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
    let net = delta.bytes_allocated.wrapping_sub(delta.bytes_freed) as i64;
    let recorded = with(|state| {
        let Some(slot) = state.slot() else {
            return false;
        };
        slot.counters.owned_add(delta);
        let publish = if net >= 0 {
            state.add_net_up(net)
        } else {
            state.add_net_down(-net)
        };
        if publish {
            state.publish();
        }
        true
    });
    if recorded != Some(true) {
        ORPHAN.shared_add(delta);
        peak::publish(net, net.max(0));
    }
}

impl ThreadState {
    /// This thread's slot, acquired on first use; `None` after the thread's exit hook ran or
    /// if no slot could be had.
    #[inline(always)]
    fn slot(&self) -> Option<&'static Slot> {
        let slot = self.slot.get();
        if slot.is_null() {
            return self.acquire_slot();
        }
        if slot == EXITED {
            return None;
        }
        // SAFETY: a non-sentinel pointer here was stored by `acquire_slot` from a `&'static`.
        Some(unsafe { &*slot })
    }

    #[cold]
    #[inline(never)]
    fn acquire_slot(&self) -> Option<&'static Slot> {
        let slot = slots::acquire()?;
        self.slot.set(slot);
        // Without an exit notification (a refused key, an unsupported OS) the slot simply stays
        // this thread's for good: counts stay exact, only the slot is not recycled.
        let _notified = crate::sys::register_thread_exit(
            on_thread_exit,
            (slot as *const Slot).cast_mut().cast(),
        );
        Some(slot)
    }

    /// Raises this thread's net by `up` bytes and tracks its peaks; `true` when the net has
    /// risen [`PUBLISH_BYTES`] or more above its last publication.
    ///
    /// The drift upwards only needs checking when the net sets a new peak since the last
    /// publication: below that peak it is no further from the publication than the peak was,
    /// and the peak was checked when it was set. So a churning thread pays two compares.
    #[inline(always)]
    fn add_net_up(&self, up: i64) -> bool {
        let net = self.net.get().wrapping_add(up);
        self.net.set(net);
        if net > self.scope_peak.get() {
            self.scope_peak.set(net);
        }
        if net > self.peak_since_publish.get() {
            self.peak_since_publish.set(net);
            return net.wrapping_sub(self.published.get()) > PUBLISH_BYTES;
        }
        false
    }

    /// Lowers this thread's net by `down` bytes; `true` when it has fallen
    /// [`PUBLISH_BYTES`] or more below its last publication.
    #[inline(always)]
    fn add_net_down(&self, down: i64) -> bool {
        let net = self.net.get().wrapping_sub(down);
        self.net.set(net);
        net < self.publish_floor.get()
    }

    fn publish(&self) {
        let published = self.published.get();
        let net = self.net.get();
        peak::publish(
            net.wrapping_sub(published),
            self.peak_since_publish.get().wrapping_sub(published),
        );
        self.published.set(net);
        self.publish_floor.set(net.wrapping_sub(PUBLISH_BYTES));
        self.peak_since_publish.set(net);
    }

    fn own_counts(&self) -> Counts {
        self.slot()
            .map(|slot| slot.counters.load())
            .unwrap_or_default()
    }
}

/// Thread-exit hook: publish what is pending and hand the slot to a later thread.
fn on_thread_exit(slot: *mut u8) {
    let _ = with(|state| {
        if state.slot.get() == slot.cast_const().cast() {
            state.publish();
            state.slot.set(EXITED);
        }
    });
    #[cfg(feature = "backtraces")]
    crate::sites::release_thread();
    #[cfg(feature = "dhat-compat")]
    crate::heap::release_thread();
    // SAFETY: the hook is registered only with pointers to `'static` slots.
    let slot: &Slot = unsafe { &*slot.cast_const().cast::<Slot>() };
    slots::release(slot);
}

/// Whether the calling thread's events are being recorded (not suspended, TLS alive).
#[cfg_attr(not(feature = "dhat-compat"), allow(dead_code))]
#[inline(always)]
pub(crate) fn recording() -> bool {
    with(|state| state.suspended.get() == 0).unwrap_or(false)
}

/// Publishes the calling thread's pending net, so the global level and peaks include it.
pub(crate) fn publish_pending() {
    let _ = with(ThreadState::publish);
}

/// A snapshot of the calling thread's own counters and net bytes.
pub(crate) fn own_snapshot() -> (Counts, i64) {
    with(|state| (state.own_counts(), state.net.get())).unwrap_or_default()
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
            state.scope_saved[depth].set(state.scope_peak.get());
            state.scope_ids[depth].set(id);
            state.scope_depth.set(depth + 1);
            state.scope_peak.set(state.net.get());
        }
        ScopeId(id)
    })
    .unwrap_or(ScopeId(0))
}

/// The highest net this thread reached since `scope` opened (exact while at most
/// 32 scopes are open; deeper ones get the peak since the 32nd opened).
pub(crate) fn scope_peak(scope: ScopeId) -> i64 {
    with(|state| {
        let depth = state.scope_depth.get();
        let position = (0..depth)
            .find(|&k| state.scope_ids[k].get() == scope.0)
            .unwrap_or(depth);
        let later = ((position + 1)..depth).map(|k| state.scope_saved[k].get());
        later.fold(state.scope_peak.get(), i64::max)
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
            state.scope_peak.set(state.scope_peak.get().max(saved));
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
        let _ = with(|state| state.suspended.set(state.suspended.get() + 1));
        Suspended(())
    }
}

impl Drop for Suspended {
    fn drop(&mut self) {
        let _ = with(|state| state.suspended.set(state.suspended.get().saturating_sub(1)));
    }
}
