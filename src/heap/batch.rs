//! A thread's pending heap events, summarised so that applying them later gives the figures
//! that applying them one by one would have given.
//!
//! # Why batches
//!
//! dhat's figures are defined over one sequence of events. Feeding every event into the
//! shared [`Accounting`](super::points::Accounting) as it happens means a shared lock and
//! shared cache lines on every allocation, which is what stops two threads from running at
//! once. Instead each thread keeps its events here and hands them over in one step (a
//! *flush*), every few hundred events or sooner (see [`Batch::wants_flush`]). The sequence the
//! accounting then sees is every thread's own events in program order, one batch after
//! another.
//!
//! # What a batch keeps
//!
//! Sums are easy: per program point, the change in current bytes and blocks, the totals and
//! the finished lifetimes. The peaks need more, because dhat's `>=` rules look at every
//! intermediate state:
//! - the batch's running change in the heap and its highest value after a rise (the latest one
//!   on ties), with the blocks and the time at that moment. Applied on top of the heap as the
//!   flush finds it, that is the highest level the batch reaches, so it sets a new global
//!   peak exactly when one of its events would have;
//! - per point, the same for the point's own peak (`mb`, `mbk`);
//! - per point, its change as of the batch's last peak-setting moment, for the "at t-gmax"
//!   figures. The same epoch trick as the accounting's (see `points.rs`) keeps that O(1) per
//!   event: the batch's epoch counts its peak-setting rises, and a point touched in a later
//!   epoch first saves its unchanged change.
//!
//! Everything here is plain sequential code owned by one thread at a time; the unit tests
//! check it against the accounting's one-event-at-a-time rules.

/// Program points one batch can hold before it must be flushed.
pub(crate) const BATCH_POINTS: usize = 64;

/// Events after which a batch asks to be flushed, so other threads' view is never far behind.
const FLUSH_EVENTS: u32 = 512;

/// Net bytes (either way) after which a batch asks to be flushed: large blocks are applied
/// promptly, which keeps the order between threads close to the wall-clock one where it
/// matters for the peak.
const FLUSH_BYTES: isize = 64 * 1024;

/// Index slots: twice the points, so probes stay short.
const INDEX_SLOTS: usize = 2 * BATCH_POINTS;

/// One program point's pending change.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PointDelta {
    pub(crate) point: u32,
    seen_epoch: u32,
    pub(crate) bytes: isize,
    pub(crate) blocks: isize,
    pub(crate) total_bytes: u64,
    pub(crate) total_blocks: u64,
    pub(crate) lifetime_ticks: u128,
    /// Whether the point rose in this batch; then `own_peak_*` hold its highest `bytes`
    /// after a rise (the latest on ties) and the blocks at that moment.
    has_own_peak: bool,
    own_peak_bytes: isize,
    own_peak_blocks: isize,
    snapshot_bytes: isize,
    snapshot_blocks: isize,
}

impl PointDelta {
    /// The point's highest change after one of its rises, with its blocks then.
    pub(crate) fn own_peak(&self) -> Option<(isize, isize)> {
        self.has_own_peak
            .then_some((self.own_peak_bytes, self.own_peak_blocks))
    }

    /// The point's change as of the batch's last peak-setting moment (`epoch`).
    pub(crate) fn at_batch_peak(&self, epoch: u32) -> (isize, isize) {
        if self.seen_epoch < epoch {
            (self.bytes, self.blocks)
        } else {
            (self.snapshot_bytes, self.snapshot_blocks)
        }
    }
}

/// The batch's highest heap level after a rise, relative to its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BatchPeak {
    pub(crate) bytes: isize,
    pub(crate) blocks: isize,
    /// Clock ticks since the session started, at that moment.
    pub(crate) at: u64,
}

/// A thread's pending events. Every field is valid as all zeroes (an empty batch), so a
/// thread's block can be made from zeroed memory without building it on the stack.
pub(crate) struct Batch {
    points: [PointDelta; BATCH_POINTS],
    len: usize,
    /// `point + 1` → index in `points` + 1; 0 is empty.
    index: [(u32, u32); INDEX_SLOTS],
    events: u32,
    pub(crate) bytes: isize,
    pub(crate) blocks: isize,
    pub(crate) total_bytes: u64,
    pub(crate) total_blocks: u64,
    /// Whether any event rose; then `peak` is the batch's highest level after a rise.
    has_peak: bool,
    peak: BatchPeak,
    /// Peak-setting rises so far.
    pub(crate) epoch: u32,
    /// Events that could not be recorded (no memory for the live table).
    pub(crate) lost_events: u64,
    /// The entry of the latest event (valid if below `len`).
    last: usize,
}

impl Batch {
    #[cfg(test)]
    pub(crate) const fn new() -> Self {
        const EMPTY: PointDelta = PointDelta {
            point: 0,
            seen_epoch: 0,
            bytes: 0,
            blocks: 0,
            total_bytes: 0,
            total_blocks: 0,
            lifetime_ticks: 0,
            has_own_peak: false,
            own_peak_bytes: 0,
            own_peak_blocks: 0,
            snapshot_bytes: 0,
            snapshot_blocks: 0,
        };
        Batch {
            points: [EMPTY; BATCH_POINTS],
            len: 0,
            index: [(0, 0); INDEX_SLOTS],
            events: 0,
            bytes: 0,
            blocks: 0,
            total_bytes: 0,
            total_blocks: 0,
            has_peak: false,
            peak: BatchPeak {
                bytes: 0,
                blocks: 0,
                at: 0,
            },
            epoch: 0,
            lost_events: 0,
            last: 0,
        }
    }

    /// The batch's highest level after a rise, if anything rose.
    pub(crate) fn peak(&self) -> Option<BatchPeak> {
        self.has_peak.then_some(self.peak)
    }

    /// Whether the batch holds no figures (it may still count lost events).
    pub(crate) fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// The points this batch changed.
    pub(crate) fn points(&self) -> &[PointDelta] {
        &self.points[..self.len]
    }

    /// Whether the owner should flush now. A batch that says no always has room for one
    /// more event at a new point.
    pub(crate) fn wants_flush(&self) -> bool {
        self.len == BATCH_POINTS
            || self.events >= FLUSH_EVENTS
            || !(-FLUSH_BYTES..=FLUSH_BYTES).contains(&self.bytes)
            || (self.has_peak && self.peak.bytes > FLUSH_BYTES)
    }

    /// Forgets everything (after a flush, or for a new session).
    pub(crate) fn clear(&mut self) {
        for delta in &self.points[..self.len] {
            let mut slot = index_slot(delta.point);
            while self.index[slot].0 != delta.point + 1 {
                slot = (slot + 1) % INDEX_SLOTS;
            }
            self.index[slot] = (0, 0);
        }
        self.len = 0;
        self.events = 0;
        self.bytes = 0;
        self.blocks = 0;
        self.total_bytes = 0;
        self.total_blocks = 0;
        self.has_peak = false;
        self.epoch = 0;
        self.lost_events = 0;
    }

    /// Where `point`'s entry is, made on first sight. The caller guarantees room (see
    /// [`Batch::wants_flush`]).
    #[inline]
    fn position(&mut self, point: u32) -> usize {
        // Consecutive events mostly share a point (an allocation and its free, a realloc).
        let last = self.last;
        if last < self.len && self.points[last].point == point {
            return last;
        }
        let position = self.find_or_add(point);
        self.last = position;
        position
    }

    fn find_or_add(&mut self, point: u32) -> usize {
        let mut slot = index_slot(point);
        loop {
            match self.index[slot] {
                (0, _) => {
                    let position = self.len;
                    self.points[position] = PointDelta {
                        point,
                        seen_epoch: self.epoch,
                        ..PointDelta::default()
                    };
                    self.len += 1;
                    self.index[slot] = (point + 1, position as u32);
                    return position;
                }
                (key, position) if key == point + 1 => return position as usize,
                _ => slot = (slot + 1) % INDEX_SLOTS,
            }
        }
    }

    /// The entry at `position`, brought up to the current epoch before it changes.
    #[inline]
    fn touch(&mut self, position: usize) -> &mut PointDelta {
        let epoch = self.epoch;
        let delta = &mut self.points[position];
        if delta.seen_epoch < epoch {
            delta.snapshot_bytes = delta.bytes;
            delta.snapshot_blocks = delta.blocks;
            delta.seen_epoch = epoch;
        }
        delta
    }

    /// The same rules as `Accounting::after_rise`, relative to the batch's start, for the
    /// entry at `position`.
    fn after_rise(&mut self, position: usize, now: u64) {
        if !self.has_peak || self.bytes >= self.peak.bytes {
            self.has_peak = true;
            self.peak = BatchPeak {
                bytes: self.bytes,
                blocks: self.blocks,
                at: now,
            };
            self.epoch += 1;
        }
        let delta = self.touch(position);
        if !delta.has_own_peak || delta.bytes >= delta.own_peak_bytes {
            delta.has_own_peak = true;
            delta.own_peak_bytes = delta.bytes;
            delta.own_peak_blocks = delta.blocks;
        }
    }

    /// A new block of `size` bytes at `point`.
    pub(crate) fn alloc(&mut self, point: u32, size: usize, now: u64) {
        self.events += 1;
        self.bytes += size as isize;
        self.blocks += 1;
        self.total_bytes += size as u64;
        self.total_blocks += 1;
        let position = self.position(point);
        let delta = self.touch(position);
        delta.bytes += size as isize;
        delta.blocks += 1;
        delta.total_bytes += size as u64;
        delta.total_blocks += 1;
        self.after_rise(position, now);
    }

    /// A block of `size` bytes at `point` freed after `lifetime` ticks.
    pub(crate) fn dealloc(&mut self, point: u32, size: usize, lifetime: u64) {
        self.events += 1;
        self.bytes -= size as isize;
        self.blocks -= 1;
        let position = self.position(point);
        let delta = self.touch(position);
        delta.bytes -= size as isize;
        delta.blocks -= 1;
        delta.lifetime_ticks += u128::from(lifetime);
    }

    /// A block at `point` reallocated from `old_size` to `new_size` bytes (dhat's rule: a new
    /// block of the full new size, counted in the totals).
    pub(crate) fn realloc(&mut self, point: u32, old_size: usize, new_size: usize, now: u64) {
        self.events += 1;
        let change = new_size as isize - old_size as isize;
        self.bytes += change;
        self.total_bytes += new_size as u64;
        self.total_blocks += 1;
        let position = self.position(point);
        let delta = self.touch(position);
        delta.bytes += change;
        delta.total_bytes += new_size as u64;
        delta.total_blocks += 1;
        if new_size >= old_size {
            self.after_rise(position, now);
        }
    }
}

fn index_slot(point: u32) -> usize {
    (point.wrapping_mul(0x9E37_79B9) >> 24) as usize % INDEX_SLOTS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::live::{LiveBlock, LiveTable};
    use crate::heap::points::{hash_frames, Accounting};

    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    const POINTS: u32 = 80;

    fn accounting() -> Accounting {
        let mut accounting = Accounting::new();
        for point in 0..POINTS {
            let frames = [0x1000 + point as usize, 0x2000];
            assert_eq!(accounting.intern(&frames, hash_frames(&frames)), Ok(point));
        }
        accounting
    }

    /// Everything a profile reports about an accounting.
    fn figures(a: &Accounting, end: u64) -> Vec<String> {
        let lifetimes = a.lifetimes_at(end).expect("memory");
        let lifetimes = lifetimes.as_slice();
        let mut out = vec![format!("{:?} t_gmax={:?}", a.heap, a.t_gmax)];
        for point in 0..POINTS {
            let p = a.point(point);
            out.push(format!(
                "{point}: total {} {} curr {} {} max {} {} gmax {:?} life {}",
                p.total_bytes,
                p.total_blocks,
                p.curr_bytes,
                p.curr_blocks,
                p.max_bytes,
                p.max_blocks,
                a.at_gmax(point),
                lifetimes[point as usize],
            ));
        }
        out
    }

    /// One thread's random events, recorded one by one in one accounting and through a batch
    /// flushed at random moments (and whenever it asks) in another: every figure must agree,
    /// ties of the `>=` rules included (sizes are drawn from three values).
    fn batched_run_matches_event_by_event(seed: u64, steps: u32) {
        let mut rng = Rng(seed);
        let mut direct = accounting();
        let mut batched = accounting();
        let mut batch = Box::new(Batch::new());
        let mut table = LiveTable::new();
        let mut live: Vec<(usize, usize)> = Vec::new();
        let mut next_address = 0x10_000;
        for now in 1..=u64::from(steps) {
            let size = 8 * (1 + rng.below(3) as usize);
            match rng.below(10) {
                0..=3 => {
                    let point = rng.below(u64::from(POINTS)) as u32;
                    next_address += 64;
                    direct.alloc(next_address, size, point, now).unwrap();
                    assert!(table.insert(next_address, LiveBlock { point, birth: now }));
                    batch.alloc(point, size, now);
                    live.push((next_address, size));
                }
                4..=6 if !live.is_empty() => {
                    let (address, size) = live.swap_remove(rng.below(live.len() as u64) as usize);
                    assert!(direct.dealloc(address, size, now));
                    let block = table.remove(address).unwrap();
                    batch.dealloc(block.point, size, now - block.birth);
                }
                7..=9 if !live.is_empty() => {
                    let index = rng.below(live.len() as u64) as usize;
                    let (address, old_size) = live[index];
                    next_address += 64;
                    let block = direct.live.remove(address).unwrap();
                    direct
                        .realloc(block, next_address, old_size, size, now)
                        .unwrap();
                    let block = table.remove(address).unwrap();
                    let moved = LiveBlock {
                        point: block.point,
                        birth: now,
                    };
                    assert!(table.insert(next_address, moved));
                    batch.realloc(block.point, old_size, size, now);
                    live[index] = (next_address, size);
                }
                _ => {}
            }
            if batch.wants_flush() || rng.below(40) == 0 {
                batched.apply_batch(&batch);
                batch.clear();
            }
        }
        batched.apply_batch(&batch);
        let end = u64::from(steps) + 1;
        let mut batched_figures = figures(&batched, end);
        // The batched side's live blocks are in `table`, not in the accounting's own table.
        let lifetimes = {
            let mut lifetimes = batched
                .lifetimes_at(end)
                .expect("memory")
                .as_slice()
                .to_vec();
            for block in table.blocks() {
                lifetimes[block.point as usize] += u128::from(end - block.birth);
            }
            lifetimes
        };
        for point in 0..POINTS as usize {
            let line = &mut batched_figures[point + 1];
            let cut = line.rfind(" life ").unwrap();
            line.truncate(cut);
            line.push_str(&format!(" life {}", lifetimes[point]));
        }
        assert_eq!(batched_figures, figures(&direct, end), "seed {seed}");
    }

    #[test]
    fn batches_give_the_figures_of_events_one_by_one() {
        let runs = if cfg!(miri) { 2 } else { 200 };
        let steps = if cfg!(miri) { 300 } else { 3_000 };
        for seed in 1..=runs {
            batched_run_matches_event_by_event(seed * 0x9E37_79B9, steps);
        }
    }

    #[test]
    fn a_batch_asks_for_a_flush_before_it_runs_out_of_room() {
        let mut batch = Box::new(Batch::new());
        for point in 0..BATCH_POINTS as u32 {
            assert!(!batch.wants_flush());
            batch.alloc(point, 8, 1);
        }
        assert!(batch.wants_flush(), "full of points");
        batch.clear();
        assert!(batch.is_empty() && !batch.wants_flush());
        batch.alloc(0, FLUSH_BYTES as usize + 1, 1);
        assert!(batch.wants_flush(), "large block");
        batch.clear();
        batch.alloc(0, FLUSH_BYTES as usize + 1, 1);
        batch.dealloc(0, FLUSH_BYTES as usize + 1, 0);
        assert!(
            batch.wants_flush(),
            "large block already freed: its peak is pending"
        );
        batch.clear();
        for _ in 0..FLUSH_EVENTS / 2 {
            batch.alloc(1, 8, 1);
            assert!(!batch.wants_flush());
            batch.dealloc(1, 8, 0);
        }
        assert!(batch.wants_flush(), "many events");
    }

    /// A batch's epoch counts the peak-setting rises since its last clear, so a thread's
    /// batch, cleared at every flush, never runs it out however long the thread runs.
    #[test]
    fn clearing_restarts_the_epoch() {
        let mut batch = Box::new(Batch::new());
        batch.alloc(0, 8, 1);
        // As after 2^32 - 1 peak-setting rises in the thread's earlier batches.
        batch.epoch = u32::MAX;
        batch.clear();
        let (mut direct, mut batched) = (accounting(), accounting());
        for (now, address) in [(2, 0x100), (3, 0x200)] {
            direct.alloc(address, 8, 0, now).unwrap();
            batch.alloc(0, 8, now);
        }
        batched.apply_batch(&batch);
        let peaks = |a: &Accounting| {
            let p = a.point(0);
            (a.heap, a.t_gmax, p.max_bytes, p.max_blocks, a.at_gmax(0))
        };
        assert_eq!(peaks(&batched), peaks(&direct));
    }

    /// A batch's lost events reach the accounting once: the flush that hands them over
    /// leaves the batch without them.
    #[test]
    fn lost_events_are_handed_over_once() {
        let mut shared = accounting();
        let mut batch = Box::new(Batch::new());
        batch.lost_events = 3;
        batch.alloc(0, 8, 1);
        for now in 2..5 {
            shared.apply_batch(&batch);
            batch.clear();
            batch.alloc(1, 8, now);
        }
        shared.apply_batch(&batch);
        assert_eq!(shared.lost_events, 3);
    }

    /// Two threads' batches applied one after the other keep the invariants of every
    /// profile: Σ at-t-gmax = the peak, and each point's at-t-gmax and current figures within
    /// its own peak.
    #[test]
    fn interleaved_batches_keep_the_profile_invariants() {
        let mut rng = Rng(77);
        let mut shared = accounting();
        let mut batches = [Box::new(Batch::new()), Box::new(Batch::new())];
        let mut live: [Vec<(u32, usize)>; 2] = [Vec::new(), Vec::new()];
        for now in 1..20_000u64 {
            let thread = rng.below(2) as usize;
            let size = 8 << rng.below(6);
            if rng.below(2) == 0 || live[thread].is_empty() {
                let point = rng.below(u64::from(POINTS)) as u32;
                batches[thread].alloc(point, size, now);
                live[thread].push((point, size));
            } else {
                let index = rng.below(live[thread].len() as u64) as usize;
                let (point, size) = live[thread].swap_remove(index);
                batches[thread].dealloc(point, size, 1);
            }
            if batches[thread].wants_flush() || rng.below(50) == 0 {
                shared.apply_batch(&batches[thread]);
                batches[thread].clear();
            }
        }
        for batch in &batches {
            shared.apply_batch(batch);
        }
        let (mut gmax_bytes, mut gmax_blocks, mut curr_bytes) = (0, 0, 0);
        for point in 0..POINTS {
            let state = shared.point(point);
            let (bytes, blocks) = shared.at_gmax(point);
            assert!(bytes <= state.max_bytes && state.curr_bytes <= state.max_bytes);
            gmax_bytes += bytes;
            gmax_blocks += blocks;
            curr_bytes += state.curr_bytes;
        }
        assert_eq!(gmax_bytes, shared.heap.max_bytes);
        assert_eq!(gmax_blocks, shared.heap.max_blocks);
        assert_eq!(curr_bytes, shared.heap.curr_bytes);
        let expected: usize = live.iter().flatten().map(|&(_, size)| size).sum();
        assert_eq!(shared.heap.curr_bytes, expected);
    }
}
