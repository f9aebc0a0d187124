//! The published live-heap level and the peak registers that windows read.
//!
//! # Why a published level
//!
//! An exact, instantaneous global peak needs one shared "live bytes" word that every
//! allocation updates, and a shared read-modify-write costs 7 to 12 times a `malloc` as soon as
//! two threads allocate. So each thread keeps its own running net and publishes it here only
//! when it has moved by [`PUBLISH_BYTES`] since the last time (or when a profiler asks).
//!
//! Along with the net change, a thread publishes its *excursion*: the highest its net rose
//! since its previous publication. The level before the add plus that excursion is the highest
//! the heap can have stood while this thread was the only one moving, so it is offered to every
//! active peak register. Consequences, stated in the crate docs:
//!
//! - For the thread that reads a window (it publishes first) the peak is exact.
//! - Another live thread's change counts once it is published: when it drifts by
//!   [`PUBLISH_BYTES`], when the thread exits, or when it opens or reads a window. Until then
//!   a peak can miss it, and a change made before a window opened but published while it is
//!   open counts in that window's peak: either way by up to [`PUBLISH_BYTES`] per thread.
//!
//! # Registers
//!
//! A window (a running `Profiler`) claims one of 64 registers, taken in turn; register 0 is
//! the process lifetime. Publishing offers the candidate to each register claimed before it
//! began, with a load and, only when it is higher, a `fetch_max`. Windows may overlap in any
//! order.

use core::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use super::padded::CachePadded;

/// How far a thread's net may drift before it is published.
pub(crate) const PUBLISH_BYTES: i64 = 64 * 1024;

const REGISTERS: usize = 64;
const LIFETIME: usize = 0;

/// The sum of every thread's published net: live bytes as the peak logic sees them.
static LEVEL: CachePadded<AtomicI64> = CachePadded(AtomicI64::new(0));

/// Claimed registers, one bit each; bit 0 (the lifetime register) is always set.
static CLAIMED: CachePadded<AtomicU64> = CachePadded(AtomicU64::new(1 << LIFETIME));

/// Where the next claim starts looking for a free register (see [`Register::claim`]).
static NEXT_CLAIM: AtomicU32 = AtomicU32::new(0);

#[allow(clippy::declare_interior_mutable_const)] // only used to initialise the array below
const EMPTY_REGISTER: CachePadded<AtomicI64> = CachePadded(AtomicI64::new(0));
static PEAKS: [CachePadded<AtomicI64>; REGISTERS] = [EMPTY_REGISTER; REGISTERS];

/// Adds a thread's net change to the level and offers `level before + excursion` as a peak.
pub(crate) fn publish(delta: i64, excursion: i64) {
    publish_with(delta, excursion, || {});
}

/// [`publish`], running `in_flight` between the add and the second look at the claims: the
/// moment a window that opens concurrently can fall into, which tests reproduce with it.
///
/// The candidate's excursion is this thread's history before the add, so it goes only to
/// registers claimed before the add began. A register claimed while the add is in flight is
/// offered the level the add left instead: its owner may have read the level before the add,
/// and its peak must not stay below the level. Without that split, a window opened just
/// after another thread's large free could be handed the level from before that free.
///
/// `SeqCst` on these accesses and on the claim's: each side writes one word and then reads
/// the other's, which needs a single order to be sure that one of the two sees the other.
/// Both run once per [`PUBLISH_BYTES`] of drift or per window, never per allocation.
#[inline(always)]
fn publish_with(delta: i64, excursion: i64, in_flight: impl FnOnce()) {
    let claimed_before = CLAIMED.load(Ordering::SeqCst);
    let before = LEVEL.fetch_add(delta, Ordering::SeqCst);
    in_flight();
    let claimed_after = CLAIMED.load(Ordering::SeqCst);
    let candidate = before.saturating_add(excursion.max(delta).max(0));
    offer(claimed_before & claimed_after, candidate);
    offer(
        claimed_after & !claimed_before,
        before.saturating_add(delta),
    );
}

/// Raises each register in `registers` (one bit each) to at least `candidate`: a load and,
/// only when the candidate is higher, a `fetch_max`.
#[inline(always)]
fn offer(mut registers: u64, candidate: i64) {
    while registers != 0 {
        let index = registers.trailing_zeros() as usize;
        registers &= registers - 1;
        let register = &PEAKS[index];
        if candidate > register.load(Ordering::Relaxed) {
            register.fetch_max(candidate, Ordering::Relaxed);
        }
    }
}

/// The published level now.
pub(crate) fn level() -> i64 {
    LEVEL.load(Ordering::Relaxed)
}

/// The highest level ever published in the life of the process.
pub(crate) fn lifetime_peak() -> i64 {
    PEAKS[LIFETIME].load(Ordering::Relaxed)
}

/// A claimed register; it is handed back on drop.
#[derive(Debug)]
pub(crate) struct Register {
    index: usize,
}

impl Register {
    /// Claims a free register and starts it at the level published now, which it returns
    /// too; `None` if all 63 are in use.
    ///
    /// The level is read after the claim, so a publication that lands in between is in both
    /// the starting value and the register, never in the register alone.
    ///
    /// Registers are taken in turn rather than lowest first. A publication in flight that
    /// read the claims before a register was handed back may still offer its candidate to
    /// that register; taking them in turn means a new window gets it only after 62 other
    /// claims, not as soon as a window closes and the next one opens.
    pub(crate) fn claim() -> Option<(Register, i64)> {
        let mut claimed = CLAIMED.load(Ordering::SeqCst);
        loop {
            let free = !claimed;
            if free == 0 {
                return None;
            }
            let start = NEXT_CLAIM.load(Ordering::Relaxed) % REGISTERS as u32;
            let index = (start + free.rotate_right(start).trailing_zeros()) as usize % REGISTERS;
            // The register may still hold the previous owner's peak; it is overwritten right
            // after the claim, with a level read after the claim. A publication between the
            // claim and that store is overwritten: it happened as the window opened, and the
            // starting level includes it.
            match CLAIMED.compare_exchange_weak(
                claimed,
                claimed | (1 << index),
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    NEXT_CLAIM.store(index as u32 + 1, Ordering::Relaxed);
                    let start_level = LEVEL.load(Ordering::SeqCst);
                    PEAKS[index].store(start_level, Ordering::Relaxed);
                    return Some((Register { index }, start_level));
                }
                Err(now) => claimed = now,
            }
        }
    }

    /// The highest level published since the claim (at least the starting level).
    pub(crate) fn peak(&self) -> i64 {
        PEAKS[self.index].load(Ordering::Relaxed)
    }
}

impl Drop for Register {
    fn drop(&mut self) {
        CLAIMED.fetch_and(!(1 << self.index), Ordering::Release);
    }
}

/// Unit tests that publish hold this, so none of them sees another's change of the level.
#[cfg(test)]
pub(crate) static LEVEL_TEST_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    // One test drives the shared statics in sequence, so parallel tests cannot interleave.
    #[test]
    fn registers_track_the_highest_candidate_since_their_claim() {
        let _serial = LEVEL_TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let start = level();
        publish(1000, 1000);
        let (window, window_start) = Register::claim().expect("a free register");
        assert_eq!(window_start, start + 1000);
        assert_eq!(window.peak(), start + 1000);
        // Up by 500 then back down by 200 before publishing: the excursion is 500.
        publish(300, 500);
        assert_eq!(window.peak(), start + 1500);
        assert_eq!(level(), start + 1300);
        // A net fall never raises the peak.
        publish(-1300, 0);
        assert_eq!(window.peak(), start + 1500);
        assert!(lifetime_peak() >= start + 1500);
        let (inner, _) = Register::claim().expect("a second register");
        publish(200, 200);
        assert_eq!(inner.peak(), start + 200);
        assert_eq!(window.peak(), start + 1500);
        drop(inner);
        publish(-200, 0);
    }

    #[test]
    fn a_window_opened_during_a_fall_starts_after_it() {
        let _serial = LEVEL_TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        publish(1 << 20, 1 << 20);
        let high = level();
        let mut opened = None;
        // A large free is published; a window opens between its add and its look at the
        // claims. The level it opened at is after the free, and so must its peak be.
        publish_with(-(1 << 20), 0, || opened = Register::claim());
        let (window, start) = opened.expect("a free register");
        assert_eq!(start, high - (1 << 20));
        assert_eq!(
            window.peak(),
            start,
            "the window was handed the level before the free"
        );
    }

    #[test]
    fn registers_are_claimed_in_turn() {
        let _serial = LEVEL_TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let (first, _) = Register::claim().expect("a free register");
        let first_index = first.index;
        drop(first);
        let (second, _) = Register::claim().expect("a free register");
        assert_ne!(
            second.index, first_index,
            "a released register was taken straight back"
        );
        assert_ne!(second.index, LIFETIME);
    }
}
