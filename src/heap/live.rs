//! The live-block table: block address → (program point, birth time).
//!
//! This is how a free finds its block's program point and age. A side table, rather than a
//! header on each block, leaves every block's layout exactly as the program asked: blocks
//! allocated before a profile started are simply absent (and so ignored when freed, as dhat
//! ignores them), and nothing changes for programs that never profile.
//!
//! Open addressing with linear probing and backward-shift deletion (no tombstones), grown
//! to twice the size when three quarters full. An entry is 16 bytes: the address, and the
//! program point (24 bits) packed with the birth time (40 bits, in units of
//! `2^birth_shift()` clock ticks (see `clock.rs`) since the session started). So a live block costs 21 to
//! 43 bytes of table; dhat's hash-map entry alone is 40 bytes, plus its own slack. Each thread
//! has its own table, touched under its own lock (see `thread.rs`), and the session keeps one
//! for blocks whose thread has exited or never had a table of its own.
//!
//! Limits:
//! - A session with more than 16,777,215 program points records further blocks as lost
//!   events, which the end of the session reports.
//! - A birth later than 2^40 units after the start is stored as that latest time, silently.
//!   That is earlier than the real birth, so such a block's lifetime can only be overstated,
//!   by the time from the limit to its birth. The limit is about 6 hours for a 3 GHz TSC on
//!   x86_64; on aarch64 the unit follows the counter's rate, for 12.7 hours at 24 MHz and
//!   4.9 hours at the 1 GHz of ARMv8.6 and later (see `clock::birth_shift`).

use super::sysvec::SysVec;

/// A tracked block's bookkeeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LiveBlock {
    pub(crate) point: u32,
    pub(crate) birth: u64,
}

/// Clock ticks per stored birth unit (tests only; the code shifts by `birth_shift()`).
#[cfg(test)]
fn birth_unit_ticks() -> u64 {
    1 << super::clock::birth_shift()
}

const BIRTH_BITS: u32 = 40;
const BIRTH_MASK: u64 = (1 << BIRTH_BITS) - 1;

/// The largest program point an entry can hold.
pub(crate) const MAX_POINT: u32 = (1 << (64 - BIRTH_BITS)) - 1;

#[derive(Clone, Copy)]
struct Entry {
    /// 0 marks an empty slot; no allocation lives at address 0.
    address: usize,
    /// `point << 40 | birth units`.
    packed: u64,
}

impl Entry {
    fn new(address: usize, block: LiveBlock) -> Entry {
        debug_assert!(block.point <= MAX_POINT);
        let units = (block.birth >> super::clock::birth_shift()).min(BIRTH_MASK);
        Entry {
            address,
            packed: (u64::from(block.point) << BIRTH_BITS) | units,
        }
    }

    fn block(self) -> LiveBlock {
        LiveBlock {
            point: (self.packed >> BIRTH_BITS) as u32,
            birth: (self.packed & BIRTH_MASK) << super::clock::birth_shift(),
        }
    }
}

const EMPTY: Entry = Entry {
    address: 0,
    packed: 0,
};

pub(crate) struct LiveTable {
    slots: SysVec<Entry>,
    len: usize,
}

fn slot_of(address: usize, mask: usize) -> usize {
    // Blocks are at least 8-aligned; a Fibonacci multiply spreads the remaining bits.
    (((address >> 3) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

impl LiveTable {
    pub(crate) const fn new() -> Self {
        LiveTable {
            slots: SysVec::new(),
            len: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Records a block; `false` if the table could not grow (the block goes untracked).
    #[inline(always)]
    pub(crate) fn insert(&mut self, address: usize, block: LiveBlock) -> bool {
        debug_assert_ne!(address, 0);
        if (self.len + 1) * 4 > self.slots.len() * 3 && !self.grow() {
            return false;
        }
        let mask = self.slots.len() - 1;
        let slots = self.slots.as_mut_slice();
        let mut index = slot_of(address, mask);
        loop {
            let entry = &mut slots[index];
            if entry.address == 0 || entry.address == address {
                // An existing entry for the same address can only be stale bookkeeping from a
                // block freed while untracked; the new block replaces it.
                if entry.address == 0 {
                    self.len += 1;
                }
                *entry = Entry::new(address, block);
                return true;
            }
            index = (index + 1) & mask;
        }
    }

    /// Removes and returns a block's bookkeeping, if it is tracked.
    #[inline(always)]
    pub(crate) fn remove(&mut self, address: usize) -> Option<LiveBlock> {
        if self.len == 0 {
            return None;
        }
        let mask = self.slots.len() - 1;
        let slots = self.slots.as_mut_slice();
        let mut index = slot_of(address, mask);
        loop {
            let entry = slots[index];
            if entry.address == 0 {
                return None;
            }
            if entry.address == address {
                break;
            }
            index = (index + 1) & mask;
        }
        let found = slots[index].block();
        // Backward-shift deletion: pull later entries of the probe run into the hole when
        // their home slot is not between the hole and their current slot.
        let mut hole = index;
        let mut next = (hole + 1) & mask;
        while slots[next].address != 0 {
            let home = slot_of(slots[next].address, mask);
            let distance_to_next = next.wrapping_sub(home) & mask;
            let distance_to_hole = hole.wrapping_sub(home) & mask;
            if distance_to_hole <= distance_to_next {
                slots[hole] = slots[next];
                hole = next;
            }
            next = (next + 1) & mask;
        }
        slots[hole] = EMPTY;
        self.len -= 1;
        Some(found)
    }

    /// Whether `address` is tracked.
    #[cfg(test)]
    pub(crate) fn contains(&self, address: usize) -> bool {
        if self.len == 0 {
            return false;
        }
        let mask = self.slots.len() - 1;
        let slots = self.slots.as_slice();
        let mut index = slot_of(address, mask);
        loop {
            match slots[index].address {
                0 => return false,
                a if a == address => return true,
                _ => index = (index + 1) & mask,
            }
        }
    }

    /// Every tracked block.
    pub(crate) fn blocks(&self) -> impl Iterator<Item = LiveBlock> + '_ {
        self.entries().map(|(_, block)| block)
    }

    /// Every tracked block with its address.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (usize, LiveBlock)> + '_ {
        self.slots
            .as_slice()
            .iter()
            .filter(|e| e.address != 0)
            .map(|e| (e.address, e.block()))
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) -> bool {
        let capacity = (self.slots.len() * 2).max(1024);
        let Some(fresh) = SysVec::filled(EMPTY, capacity) else {
            return false;
        };
        let old = core::mem::replace(&mut self.slots, fresh);
        self.len = 0;
        for entry in old.as_slice().iter().filter(|e| e.address != 0) {
            self.insert(entry.address, entry.block());
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(point: u32) -> LiveBlock {
        // Births in whole units, so they survive the packing unchanged.
        LiveBlock {
            point,
            birth: u64::from(point) * 10 * birth_unit_ticks(),
        }
    }

    #[test]
    fn packing_keeps_points_and_saturates_late_births() {
        let entry = Entry::new(
            64,
            LiveBlock {
                point: MAX_POINT,
                birth: 123 * birth_unit_ticks(),
            },
        );
        assert_eq!(
            entry.block(),
            LiveBlock {
                point: MAX_POINT,
                birth: 123 * birth_unit_ticks()
            }
        );
        let late = Entry::new(
            64,
            LiveBlock {
                point: 7,
                birth: u64::MAX,
            },
        );
        assert_eq!(
            late.block(),
            LiveBlock {
                point: 7,
                birth: BIRTH_MASK * birth_unit_ticks()
            }
        );
        assert_eq!(std::mem::size_of::<Entry>(), 16);
    }

    #[test]
    fn insert_remove_and_grow_against_a_model() {
        let mut table = LiveTable::new();
        let mut model = std::collections::HashMap::new();
        let count = if cfg!(miri) { 300 } else { 5_000 };
        // Addresses that collide in the low bits stress the probe runs and the shifting.
        for i in 1..=count {
            let address = i * 4096 + (i % 3) * 16;
            assert!(table.insert(address, block(i as u32)));
            model.insert(address, block(i as u32));
        }
        for i in (1..=count).step_by(3) {
            let address = i * 4096 + (i % 3) * 16;
            assert_eq!(table.remove(address), model.remove(&address));
        }
        assert_eq!(table.len(), model.len());
        for i in 1..=count {
            let address = i * 4096 + (i % 3) * 16;
            assert_eq!(table.contains(address), model.contains_key(&address));
            assert_eq!(table.remove(address), model.remove(&address));
        }
        assert_eq!(table.len(), 0);
        assert_eq!(table.remove(4096), None);
        assert_eq!(table.blocks().count(), 0);
    }
}
