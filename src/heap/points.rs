//! Program points and dhat's accounting rules, as a plain single-threaded state machine.
//!
//! The caller serialises every event (see `heap/mod.rs`), so this module is ordinary
//! sequential code, tested on its own (and under Miri) against dhat's published figures.
//!
//! # The peak snapshot in O(1)
//!
//! dhat copies every program point's current bytes and blocks into its "at t-gmax" figures
//! whenever the heap is about to fall from its peak, which is O(points) per free while the
//! heap sits at the peak. The copy it keeps is always the state right after the last event
//! that left `curr_bytes >= max_bytes` (a *peak-setting* event): every later event before a
//! fall is itself peak-setting, and nothing else can bring the heap back to the peak.
//!
//! So each peak-setting event increments an `epoch`, and each point remembers its figures as
//! of the last epoch it saw. A point touched in a later epoch first saves its (unchanged)
//! figures as that epoch's snapshot; a point never touched since the final epoch reports its
//! current figures. Same numbers as dhat, O(1) per event, and `Σ gb = max_bytes` exactly.

use super::arena::{FrameArena, StoredFrames};
use super::batch::Batch;
use super::live::{LiveBlock, LiveTable};
use super::sysvec::SysVec;
use super::{AdHocTotals, HeapTotals};

/// Per-point figures. Only the accounting touches them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PointState {
    /// The point's frames, in the session's [`FrameArena`].
    frames: StoredFrames,
    hash: u64,
    pub(crate) total_bytes: u64,
    pub(crate) total_blocks: u64,
    pub(crate) curr_bytes: usize,
    pub(crate) curr_blocks: usize,
    pub(crate) max_bytes: usize,
    pub(crate) max_blocks: usize,
    /// Sum of finished lifetimes, in clock ticks.
    pub(crate) lifetime_ticks: u128,
    seen_epoch: u64,
    gmax_bytes: usize,
    gmax_blocks: usize,
}

/// Why an event could not be recorded: the profiler's own tables could not grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OutOfMemory;

pub(crate) struct Accounting {
    pub(crate) heap: HeapTotals,
    pub(crate) ad_hoc: AdHocTotals,
    /// Number of peak-setting events so far.
    epoch: u64,
    /// Clock reading at the last peak-setting event.
    pub(crate) t_gmax: Option<u64>,
    points: SysVec<PointState>,
    frames: FrameArena,
    /// Open-addressed index of `points` by frame hash: `index + 1`, 0 for empty.
    index: SysVec<u32>,
    pub(crate) live: LiveTable,
    /// Events that could not be recorded because memory ran out.
    pub(crate) lost_events: u64,
}

pub(crate) fn hash_frames(frames: &[usize]) -> u64 {
    // FxHash-style fold; identity is always settled by comparing the frames themselves.
    let mut hash = frames.len() as u64;
    for &frame in frames {
        hash = (hash.rotate_left(5) ^ frame as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    hash
}

impl Accounting {
    pub(crate) const fn new() -> Self {
        Accounting {
            heap: HeapTotals {
                total_blocks: 0,
                total_bytes: 0,
                curr_blocks: 0,
                curr_bytes: 0,
                max_blocks: 0,
                max_bytes: 0,
            },
            ad_hoc: AdHocTotals {
                total_events: 0,
                total_units: 0,
            },
            epoch: 0,
            t_gmax: None,
            points: SysVec::new(),
            frames: FrameArena::new(),
            index: SysVec::new(),
            live: LiveTable::new(),
            lost_events: 0,
        }
    }

    pub(crate) fn point_count(&self) -> usize {
        self.points.len()
    }

    pub(crate) fn point(&self, point: u32) -> &PointState {
        &self.points.as_slice()[point as usize]
    }

    pub(crate) fn frames_of(&self, point: u32) -> &[usize] {
        // SAFETY: the frames are in `self.frames`, which lives as long as `self`.
        unsafe { self.point(point).frames.get() }
    }

    /// The point for `frames`, created on first sight.
    pub(crate) fn intern(&mut self, frames: &[usize], hash: u64) -> Result<u32, OutOfMemory> {
        if (self.points.len() + 1) * 2 > self.index.len() {
            self.grow_index()?;
        }
        let mask = self.index.len() - 1;
        let mut slot = hash as usize & mask;
        loop {
            match self.index.as_slice()[slot] {
                0 => break,
                stored => {
                    let point = stored - 1;
                    if self.point(point).hash == hash && self.frames_of(point) == frames {
                        return Ok(point);
                    }
                }
            }
            slot = (slot + 1) & mask;
        }
        let point = u32::try_from(self.points.len()).map_err(|_| OutOfMemory)?;
        if point > super::live::MAX_POINT {
            return Err(OutOfMemory);
        }
        let state = PointState {
            frames: self.frames.store(frames).ok_or(OutOfMemory)?,
            hash,
            seen_epoch: self.epoch,
            ..PointState::default()
        };
        if !self.points.push(state) {
            return Err(OutOfMemory);
        }
        self.index.as_mut_slice()[slot] = point + 1;
        Ok(point)
    }

    fn grow_index(&mut self) -> Result<(), OutOfMemory> {
        let capacity = (self.index.len() * 2).max(256);
        let mut fresh = SysVec::filled(0u32, capacity).ok_or(OutOfMemory)?;
        let mask = capacity - 1;
        for (point, state) in self.points.as_slice().iter().enumerate() {
            let mut slot = state.hash as usize & mask;
            while fresh.as_slice()[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            fresh.as_mut_slice()[slot] = point as u32 + 1;
        }
        self.index = fresh;
        Ok(())
    }

    /// Brings a point's t-gmax snapshot up to the current epoch before it changes.
    fn touch(&mut self, point: u32) -> &mut PointState {
        let epoch = self.epoch;
        let state = &mut self.points.as_mut_slice()[point as usize];
        if state.seen_epoch < epoch {
            state.gmax_bytes = state.curr_bytes;
            state.gmax_blocks = state.curr_blocks;
            state.seen_epoch = epoch;
        }
        state
    }

    /// dhat's `>=` rules after a change that may have raised the heap: the global peak (a
    /// peak-setting event starts a new epoch whose snapshot includes `point`'s new figures),
    /// then the point's own peak.
    fn after_rise(&mut self, point: u32, now: u64) {
        if self.heap.curr_bytes >= self.heap.max_bytes {
            self.heap.max_bytes = self.heap.curr_bytes;
            self.heap.max_blocks = self.heap.curr_blocks;
            self.t_gmax = Some(now);
            self.epoch += 1;
        }
        let state = self.touch(point);
        if state.curr_bytes >= state.max_bytes {
            state.max_bytes = state.curr_bytes;
            state.max_blocks = state.curr_blocks;
        }
    }

    /// A new tracked block of `size` bytes at `point`, kept in the session's own table.
    pub(crate) fn alloc(
        &mut self,
        address: usize,
        size: usize,
        point: u32,
        now: u64,
    ) -> Result<(), OutOfMemory> {
        if !self.live.insert(address, LiveBlock { point, birth: now }) {
            return Err(OutOfMemory);
        }
        self.record_alloc(point, size, now);
        Ok(())
    }

    /// A block in the session's own table freed (or about to be freed); returns whether it
    /// was tracked.
    #[cfg(test)]
    pub(crate) fn dealloc(&mut self, address: usize, size: usize, now: u64) -> bool {
        let Some(block) = self.live.remove(address) else {
            return false;
        };
        self.record_free(block, size, now);
        true
    }

    /// A tracked block, already taken out of its table, moved from `old_size` to `new_size`
    /// at `new_address`, which goes into the session's own table.
    pub(crate) fn realloc(
        &mut self,
        block: LiveBlock,
        new_address: usize,
        old_size: usize,
        new_size: usize,
        now: u64,
    ) -> Result<(), OutOfMemory> {
        let moved = LiveBlock {
            point: block.point,
            birth: now,
        };
        if !self.live.insert(new_address, moved) {
            self.record_untrackable_realloc(block.point, old_size);
            return Err(OutOfMemory);
        }
        self.record_realloc(block.point, old_size, new_size, now);
        Ok(())
    }

    /// The figures of a new block of `size` bytes at `point`; its table entry is the
    /// caller's business.
    pub(crate) fn record_alloc(&mut self, point: u32, size: usize, now: u64) {
        self.heap.total_blocks += 1;
        self.heap.total_bytes += size as u64;
        self.heap.curr_blocks += 1;
        self.heap.curr_bytes += size;
        let state = self.touch(point);
        state.total_blocks += 1;
        state.total_bytes += size as u64;
        state.curr_blocks += 1;
        state.curr_bytes += size;
        self.after_rise(point, now);
    }

    /// The figures of a free of `block` (already out of its table), `size` bytes.
    pub(crate) fn record_free(&mut self, block: LiveBlock, size: usize, now: u64) {
        self.heap.curr_blocks -= 1;
        self.heap.curr_bytes -= size;
        let state = self.touch(block.point);
        state.curr_blocks -= 1;
        state.curr_bytes -= size;
        state.lifetime_ticks += u128::from(now.saturating_sub(block.birth));
    }

    /// dhat's realloc rule: a new block of the full new size under the original point, its
    /// lifetime restarted (the caller gives the new table entry a new birth).
    pub(crate) fn record_realloc(
        &mut self,
        point: u32,
        old_size: usize,
        new_size: usize,
        now: u64,
    ) {
        self.heap.total_blocks += 1;
        self.heap.total_bytes += new_size as u64;
        self.heap.curr_bytes = self.heap.curr_bytes - old_size + new_size;
        let state = self.touch(point);
        state.total_blocks += 1;
        state.total_bytes += new_size as u64;
        state.curr_bytes = state.curr_bytes - old_size + new_size;
        if new_size >= old_size {
            self.after_rise(point, now);
        }
    }

    /// A realloc whose new block could not be tracked (no memory for the table): the old
    /// block is gone, so it is accounted as freed, and the event is counted as lost.
    pub(crate) fn record_untrackable_realloc(&mut self, point: u32, old_size: usize) {
        self.heap.curr_blocks -= 1;
        self.heap.curr_bytes -= old_size;
        let state = self.touch(point);
        state.curr_blocks -= 1;
        state.curr_bytes -= old_size;
    }

    /// Applies a thread's batch as if its events had happened one by one now, right after
    /// everything applied so far (see `batch.rs`).
    pub(crate) fn apply_batch(&mut self, batch: &Batch) {
        self.lost_events += batch.lost_events;
        if batch.is_empty() {
            return;
        }
        let before_bytes = self.heap.curr_bytes;
        let before_blocks = self.heap.curr_blocks;
        let new_peak = batch
            .peak()
            .filter(|peak| before_bytes.wrapping_add_signed(peak.bytes) >= self.heap.max_bytes);
        for delta in batch.points() {
            // Keep the current epoch's snapshot of the point as it stands before the batch.
            self.touch(delta.point);
        }
        if let Some(peak) = new_peak {
            self.heap.max_bytes = before_bytes.wrapping_add_signed(peak.bytes);
            self.heap.max_blocks = before_blocks.wrapping_add_signed(peak.blocks);
            self.t_gmax = Some(peak.at);
            self.epoch += 1;
        }
        let epoch = self.epoch;
        for delta in batch.points() {
            let state = &mut self.points.as_mut_slice()[delta.point as usize];
            if new_peak.is_some() {
                let (bytes, blocks) = delta.at_batch_peak(batch.epoch);
                state.gmax_bytes = state.curr_bytes.wrapping_add_signed(bytes);
                state.gmax_blocks = state.curr_blocks.wrapping_add_signed(blocks);
                state.seen_epoch = epoch;
            }
            if let Some((bytes, blocks)) = delta.own_peak() {
                let candidate = state.curr_bytes.wrapping_add_signed(bytes);
                if candidate >= state.max_bytes {
                    state.max_bytes = candidate;
                    state.max_blocks = state.curr_blocks.wrapping_add_signed(blocks);
                }
            }
            state.curr_bytes = state.curr_bytes.wrapping_add_signed(delta.bytes);
            state.curr_blocks = state.curr_blocks.wrapping_add_signed(delta.blocks);
            state.total_bytes += delta.total_bytes;
            state.total_blocks += delta.total_blocks;
            state.lifetime_ticks += delta.lifetime_ticks;
        }
        self.heap.curr_bytes = before_bytes.wrapping_add_signed(batch.bytes);
        self.heap.curr_blocks = before_blocks.wrapping_add_signed(batch.blocks);
        self.heap.total_bytes += batch.total_bytes;
        self.heap.total_blocks += batch.total_blocks;
    }

    /// An ad hoc event of `weight` units at `point`. The weights are the caller's, so the
    /// unit sums saturate at `u64::MAX` rather than wrap (or, with overflow checks, panic).
    pub(crate) fn ad_hoc(&mut self, point: u32, weight: usize) {
        self.ad_hoc.total_events += 1;
        self.ad_hoc.total_units = self.ad_hoc.total_units.saturating_add(weight as u64);
        let state = &mut self.points.as_mut_slice()[point as usize];
        state.total_blocks += 1;
        state.total_bytes = state.total_bytes.saturating_add(weight as u64);
    }

    /// A point's figures at the global peak (dhat's `gb`/`gbk`).
    pub(crate) fn at_gmax(&self, point: u32) -> (usize, usize) {
        let state = self.point(point);
        if state.seen_epoch < self.epoch {
            (state.curr_bytes, state.curr_blocks)
        } else {
            (state.gmax_bytes, state.gmax_blocks)
        }
    }

    /// Lifetime ticks of each point including its still-live blocks aged to `now`. In memory
    /// from `System`, since it is made under the session lock; `None` if that ran out.
    pub(crate) fn lifetimes_at(&self, now: u64) -> Option<SysVec<u128>> {
        let mut lifetimes = SysVec::new();
        for point in self.points.as_slice() {
            if !lifetimes.push(point.lifetime_ticks) {
                return None;
            }
        }
        let lifetimes_of = lifetimes.as_mut_slice();
        for block in self.live.blocks() {
            lifetimes_of[block.point as usize] += u128::from(now.saturating_sub(block.birth));
        }
        Some(lifetimes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(accounting: &mut Accounting, frames: &[usize]) -> u32 {
        accounting.intern(frames, hash_frames(frames)).unwrap()
    }

    /// A deterministic run (`heap1`) whose figures dhat's rules fix: the same HeapStats at
    /// every step.
    #[test]
    fn reproduces_dhats_heap1_figures() {
        let mut a = Accounting::new();
        let make_vec = site(&mut a, &[0x10, 0x20]);
        let with_capacity = site(&mut a, &[0x30, 0x20]);
        let boxed = site(&mut a, &[0x40, 0x20]);
        let keep = site(&mut a, &[0x50, 0x20]);
        a.alloc(0x1000, 100, make_vec, 1).unwrap();
        a.alloc(0x2000, 10, with_capacity, 2).unwrap();
        let b = a.live.remove(0x2000).unwrap();
        a.realloc(b, 0x3000, 10, 40, 3).unwrap();
        assert_eq!(totals(&a), (3, 150, 2, 140, 2, 140));
        a.dealloc(0x1000, 100, 4);
        let b = a.live.remove(0x3000).unwrap();
        a.realloc(b, 0x3000, 40, 20, 5).unwrap();
        assert_eq!(totals(&a), (4, 170, 1, 20, 2, 140));
        for i in 0..5 {
            a.alloc(0x4000 + i * 16, 8, boxed, 6).unwrap();
            a.dealloc(0x4000 + i * 16, 8, 7);
        }
        assert_eq!(totals(&a), (9, 210, 1, 20, 2, 140));
        a.alloc(0x5000, 64, keep, 8).unwrap();
        assert_eq!(totals(&a), (10, 274, 2, 84, 2, 140));
        // Per point: gb sums to max_bytes (100 + 40), and each point's figures by dhat's rules.
        assert_eq!(a.at_gmax(make_vec), (100, 1));
        assert_eq!(a.at_gmax(with_capacity), (40, 1));
        assert_eq!(a.at_gmax(boxed), (0, 0));
        assert_eq!(a.at_gmax(keep), (0, 0));
        let wc = a.point(with_capacity);
        assert_eq!(
            (wc.total_bytes, wc.total_blocks, wc.max_bytes, wc.max_blocks),
            (70, 3, 40, 1)
        );
        assert_eq!((wc.curr_bytes, wc.curr_blocks), (20, 1));
        assert_eq!(a.point(boxed).max_bytes, 8);
        assert_eq!(a.t_gmax, Some(3));
    }

    fn totals(a: &Accounting) -> (u64, u64, usize, usize, usize, usize) {
        let h = a.heap;
        (
            h.total_blocks,
            h.total_bytes,
            h.curr_blocks,
            h.curr_bytes,
            h.max_blocks,
            h.max_bytes,
        )
    }

    #[test]
    fn ad_hoc_units_saturate() {
        let mut a = Accounting::new();
        let x = site(&mut a, &[1]);
        a.ad_hoc(x, usize::MAX);
        a.ad_hoc(x, usize::MAX);
        a.ad_hoc(x, 3);
        assert_eq!(a.ad_hoc.total_events, 3);
        let most = (usize::MAX as u64).saturating_mul(2);
        assert_eq!(a.ad_hoc.total_units, most);
        assert_eq!(a.point(x).total_bytes, most);
        assert_eq!(a.point(x).total_blocks, 3);
    }

    #[test]
    fn equal_peaks_take_the_latest_snapshot() {
        let mut a = Accounting::new();
        let x = site(&mut a, &[1]);
        let y = site(&mut a, &[2]);
        a.alloc(0x100, 50, x, 1).unwrap();
        a.dealloc(0x100, 50, 2);
        a.alloc(0x200, 50, y, 3).unwrap();
        // Both reached 50 bytes; the `>=` rule makes the later one the peak.
        assert_eq!(a.at_gmax(x), (0, 0));
        assert_eq!(a.at_gmax(y), (50, 1));
        assert_eq!(a.t_gmax, Some(3));
        assert_eq!(a.heap.max_bytes, 50);
    }

    #[test]
    fn snapshot_sums_match_the_peak_under_churn() {
        let mut a = Accounting::new();
        let points: Vec<u32> = (0..7).map(|i| site(&mut a, &[i, i + 100])).collect();
        let mut live: Vec<(usize, usize)> = Vec::new();
        let mut seed = 12345u64;
        let steps = if cfg!(miri) { 200 } else { 20_000 };
        for step in 0..steps {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let roll = (seed >> 33) as usize;
            if live.is_empty() || roll % 3 != 0 {
                let address = 0x10_000 + step * 64;
                let size = roll % 500 + 1;
                a.alloc(address, size, points[roll % points.len()], step as u64)
                    .unwrap();
                live.push((address, size));
            } else {
                let (address, size) = live.swap_remove(roll % live.len());
                assert!(a.dealloc(address, size, step as u64));
            }
            let gb: usize = points.iter().map(|&p| a.at_gmax(p).0).sum();
            let gbk: usize = points.iter().map(|&p| a.at_gmax(p).1).sum();
            assert_eq!((gb, gbk), (a.heap.max_bytes, a.heap.max_blocks));
            for &p in &points {
                assert!(a.at_gmax(p).0 <= a.point(p).max_bytes);
            }
        }
        let eb: usize = points.iter().map(|&p| a.point(p).curr_bytes).sum();
        assert_eq!(eb, a.heap.curr_bytes);
    }

    #[test]
    fn identical_hashes_with_different_frames_stay_apart() {
        let mut a = Accounting::new();
        let first = a.intern(&[1, 2, 3], 99).unwrap();
        let second = a.intern(&[1, 2, 4], 99).unwrap();
        assert_ne!(first, second);
        assert_eq!(a.intern(&[1, 2, 3], 99).unwrap(), first);
        assert_eq!(a.frames_of(second), [1, 2, 4]);
    }

    /// A realloc whose new block could not be tracked leaves the figures of a free of the
    /// old block, the point's included (without a lifetime: the block was never seen freed).
    #[test]
    fn an_untrackable_realloc_counts_as_a_free_of_the_old_block() {
        let (mut freed, mut lost) = (Accounting::new(), Accounting::new());
        for a in [&mut freed, &mut lost] {
            let x = site(a, &[1]);
            a.alloc(0x100, 40, x, 1).unwrap();
            a.alloc(0x200, 8, x, 2).unwrap();
        }
        assert!(freed.dealloc(0x100, 40, 3));
        let block = lost.live.remove(0x100).unwrap();
        lost.record_untrackable_realloc(block.point, 40);
        assert_eq!(lost.heap, freed.heap);
        let figures = |a: &Accounting| {
            let p = a.point(0);
            let (gb, gbk) = a.at_gmax(0);
            (
                p.curr_bytes,
                p.curr_blocks,
                p.max_bytes,
                p.max_blocks,
                gb,
                gbk,
            )
        };
        assert_eq!(figures(&lost), (8, 1, 48, 2, 48, 2));
        assert_eq!(figures(&lost), figures(&freed));
    }

    #[test]
    fn untracked_frees_are_ignored() {
        let mut a = Accounting::new();
        assert!(!a.dealloc(0xdead0, 64, 1));
        assert_eq!(a.heap, HeapTotals::default());
    }
}
