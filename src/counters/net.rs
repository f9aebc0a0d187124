//! A thread's running net bytes, its peaks and its drift from the published level, kept so
//! that an event costs one subtract-and-branch and one add.
//!
//! # Two distances instead of a level
//!
//! What an event must learn is whether the net has crossed one of two thresholds: above the
//! *watermark* (the lower of the scope peak and the peak since the last publication, so a
//! peak must be raised) or below the *floor* (`PUBLISH_BYTES` under the last publication, so
//! the drift must be published). Storing the net and comparing it with both would take a
//! load, an add, a store and a compare per event. Instead the net is kept as its distance to
//! each threshold:
//!
//! - `up_room = watermark - net`: an allocation subtracts its size and has raised a peak
//!   exactly when the room was smaller than the size;
//! - `down_room = net - floor`: a free subtracts its size and must publish exactly when the
//!   room was smaller than the size.
//!
//! Each event moves the other room the opposite way with a plain add, so the pair always
//! describes the same net: `net = watermark - up_room = floor + down_room`. The thresholds
//! change only on the rare paths ([`ThreadNet::raise_peaks`], [`ThreadNet::publish`], scope
//! changes), which rewrite the rooms around the unchanged net.
//!
//! # Where it lives
//!
//! In the thread's own thread-local state (`thread_state`), as plain cells: only that thread
//! ever touches it, and an event's "subtract and test the sign" is then one instruction on
//! thread-local memory. Keeping it next to the counters in the thread's slot instead would
//! put every write of an event on one cache line, and was tried: the same instructions, no
//! faster on alloc+free pairs, and about 5% slower than the previous design on the
//! benchmark's mixed workload (about 7 events per iteration), where this layout is about
//! 5% faster than that design.

use core::cell::Cell;

use super::peak::{self, PUBLISH_BYTES};

/// One thread's net bytes and peaks. See the module docs.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct ThreadNet {
    // The two rooms are written by every event; they come first.
    /// `watermark - net`.
    up_room: Cell<i64>,
    /// `net - floor`, where `floor = published - PUBLISH_BYTES`.
    down_room: Cell<i64>,
    /// The lower of `scope_peak` and `peak_since_publish`.
    watermark: Cell<i64>,
    // Read and written on the rare paths only.
    /// The highest net since the innermost open thread scope started (see `thread_state`).
    scope_peak: Cell<i64>,
    /// The highest net since the last publication.
    peak_since_publish: Cell<i64>,
    /// The net at the last publication: what this thread has added to the published level.
    published: Cell<i64>,
}

#[inline(always)]
fn get(cell: &Cell<i64>) -> i64 {
    cell.get()
}

#[inline(always)]
fn set(cell: &Cell<i64>, value: i64) {
    cell.set(value);
}

impl ThreadNet {
    /// A net of zero, nothing published, no peak above zero.
    pub(crate) const fn new() -> ThreadNet {
        ThreadNet {
            up_room: Cell::new(0),
            down_room: Cell::new(PUBLISH_BYTES),
            watermark: Cell::new(0),
            scope_peak: Cell::new(0),
            peak_since_publish: Cell::new(0),
            published: Cell::new(0),
        }
    }

    /// The thread's net bytes: what it allocated minus what it freed.
    #[inline(always)]
    pub(crate) fn net(&self) -> i64 {
        get(&self.watermark).wrapping_sub(get(&self.up_room))
    }

    /// Raises the net by `up` bytes, and the peaks with it; `false` when the net has drifted
    /// `PUBLISH_BYTES` above the last publication and [`ThreadNet::settle`] is due. `up` is
    /// a size, so at most `isize::MAX`.
    #[inline(always)]
    pub(crate) fn rise(&self, up: u64) -> bool {
        let up = up as i64;
        set(&self.down_room, get(&self.down_room).wrapping_add(up));
        // Both rooms are at least zero between events (see `retarget` and `publish`), and
        // `up` is at most `isize::MAX`, so this cannot overflow: it is below zero exactly
        // when the net passed the watermark.
        let room = get(&self.up_room).wrapping_sub(up);
        set(&self.up_room, room);
        room >= 0 || !self.raise_peaks()
    }

    /// Lowers the net by `down` bytes; `false` when it has fallen `PUBLISH_BYTES` below the
    /// last publication and [`ThreadNet::settle`] is due. Frees never raise a peak.
    #[inline(always)]
    pub(crate) fn fall(&self, down: u64) -> bool {
        let down = down as i64;
        set(&self.up_room, get(&self.up_room).wrapping_add(down));
        // As in `rise`: below zero exactly when the net fell under the floor.
        let room = get(&self.down_room).wrapping_sub(down);
        set(&self.down_room, room);
        room >= 0
    }

    /// Does what a [`ThreadNet::rise`] or [`ThreadNet::fall`] that returned `false` left:
    /// publishes, once the net has drifted `PUBLISH_BYTES` from the last publication. Does
    /// nothing if that is not due.
    pub(crate) fn settle(&self) {
        let due = if get(&self.up_room) < 0 {
            // The fast path may have raised the peaks already and found the drift due; the
            // second call then finds no new peak, so the drift is checked again here.
            self.raise_peaks() || self.net().wrapping_sub(get(&self.published)) > PUBLISH_BYTES
        } else {
            get(&self.down_room) < 0
        };
        if due {
            self.publish();
        }
    }

    /// The net has passed the watermark: raises the peaks to it. `true` when it has risen
    /// more than `PUBLISH_BYTES` above the last publication; the watermark is then left
    /// behind (`up_room` stays below zero) for [`ThreadNet::publish`] to move.
    ///
    /// The upward drift only needs checking when the net sets a new peak since the last
    /// publication: below that peak it is no further from the publication than the peak was,
    /// and the peak was checked when it was set.
    ///
    /// Inlined into the allocation fast path, so that a growing heap pays a few compares and
    /// no call. It reads the net back from memory (volatile), so that the fast path's
    /// "subtract and test the sign" stays one instruction on memory instead of keeping the
    /// result in a register for this rare branch.
    #[inline(always)]
    fn raise_peaks(&self) -> bool {
        // SAFETY: both pointers come from live cells of `self`, valid and aligned for `i64`,
        // and no reference into either cell exists (cells hand out none).
        let net = unsafe {
            core::ptr::read_volatile(self.watermark.as_ptr())
                .wrapping_sub(core::ptr::read_volatile(self.up_room.as_ptr()))
        };
        if net > get(&self.scope_peak) {
            set(&self.scope_peak, net);
        }
        if net > get(&self.peak_since_publish) {
            set(&self.peak_since_publish, net);
            if net.wrapping_sub(get(&self.published)) > PUBLISH_BYTES {
                return true;
            }
        }
        self.retarget(net);
        false
    }

    /// Recomputes the watermark from the two peaks, keeping the net at `net`.
    #[inline(always)]
    fn retarget(&self, net: i64) {
        let watermark = get(&self.scope_peak).min(get(&self.peak_since_publish));
        set(&self.watermark, watermark);
        set(&self.up_room, watermark.wrapping_sub(net));
    }

    /// Adds the change since the last publication to the published level, with the highest
    /// point reached in between, and starts a new drift from here.
    pub(crate) fn publish(&self) {
        let net = self.net();
        let published = get(&self.published);
        peak::publish(
            net.wrapping_sub(published),
            get(&self.peak_since_publish).wrapping_sub(published),
        );
        set(&self.published, net);
        set(&self.peak_since_publish, net);
        set(&self.down_room, PUBLISH_BYTES);
        self.retarget(net);
    }

    /// The highest net since the innermost open scope started.
    pub(crate) fn scope_peak(&self) -> i64 {
        get(&self.scope_peak)
    }

    /// Starts a scope peak at the current net; returns the one it replaces.
    pub(crate) fn start_scope_peak(&self) -> i64 {
        let net = self.net();
        let previous = get(&self.scope_peak);
        set(&self.scope_peak, net);
        self.retarget(net);
        previous
    }

    /// Raises the scope peak to at least `peak` (a closing scope handing its peak outwards).
    pub(crate) fn merge_scope_peak(&self, peak: i64) {
        if peak > get(&self.scope_peak) {
            let net = self.net();
            set(&self.scope_peak, peak);
            self.retarget(net);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rooms against a plain model: a net, a scope peak, a peak since publication and a
    /// publication, with the publish decisions of the plain comparisons.
    #[test]
    fn rooms_agree_with_a_plain_net_and_peaks() {
        let _serial = peak::LEVEL_TEST_LOCK
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let tracked = ThreadNet::new();
        let (mut net, mut scope_peak, mut since, mut published) = (0i64, 0i64, 0i64, 0i64);
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let steps = if cfg!(miri) { 2_000 } else { 200_000 };
        for step in 0..steps {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let size = (state >> 40) % 40_000;
            match state % 7 {
                0 if step % 5 == 0 => {
                    assert_eq!(tracked.start_scope_peak(), scope_peak);
                    scope_peak = net;
                }
                1 if step % 3 == 0 => {
                    let outer = net + (size as i64 % 50_000);
                    tracked.merge_scope_peak(outer);
                    scope_peak = scope_peak.max(outer);
                }
                2..=4 => {
                    net += size as i64;
                    scope_peak = scope_peak.max(net);
                    let mut due = false;
                    if net > since {
                        since = net;
                        due = net - published > PUBLISH_BYTES;
                    }
                    assert_eq!(tracked.rise(size), !due, "step {step}");
                    if due {
                        tracked.settle();
                        (published, since) = (net, net);
                    }
                }
                _ => {
                    net -= size as i64;
                    let due = net < published - PUBLISH_BYTES;
                    assert_eq!(tracked.fall(size), !due, "step {step}");
                    if due {
                        tracked.settle();
                        (published, since) = (net, net);
                    }
                }
            }
            assert_eq!(get(&tracked.published), published, "step {step}");
            assert_eq!(get(&tracked.peak_since_publish), since, "step {step}");
            assert_eq!(tracked.net(), net, "step {step}");
            assert_eq!(tracked.scope_peak(), scope_peak, "step {step}");
        }
        // Hand the test's drift back, so the shared level is where it started.
        tracked.fall(net.max(0) as u64);
        tracked.rise((-net).max(0) as u64);
        tracked.settle();
        tracked.publish();
    }
}
