//! The live-block table: block address → (program point, birth time).
//!
//! This is how a free finds its block's program point and age. A side table, rather than a
//! header on each block, leaves every block's layout exactly as the program asked: blocks
//! allocated before a profile started are simply absent (and so ignored when freed, as dhat
//! ignores them), and nothing changes for programs that never profile.
//!
//! Open addressing with linear probing and backward-shift deletion (no tombstones), grown
//! to twice the size when three quarters full. An entry is 24 bytes, so a live block costs
//! 32 to 64 bytes of table (dhat's hash map entry is 40 bytes before its own slack). The
//! table is only touched under the heap profiler's lock.

use super::sysvec::SysVec;

/// A tracked block's bookkeeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LiveBlock {
    pub(crate) point: u32,
    pub(crate) birth: u64,
}

#[derive(Clone, Copy)]
struct Entry {
    /// 0 marks an empty slot; no allocation lives at address 0.
    address: usize,
    block: LiveBlock,
}

const EMPTY: Entry = Entry {
    address: 0,
    block: LiveBlock { point: 0, birth: 0 },
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
                *entry = Entry { address, block };
                return true;
            }
            index = (index + 1) & mask;
        }
    }

    /// Removes and returns a block's bookkeeping, if it is tracked.
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
        let found = slots[index].block;
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
        self.slots
            .as_slice()
            .iter()
            .filter(|e| e.address != 0)
            .map(|e| e.block)
    }

    fn grow(&mut self) -> bool {
        let capacity = (self.slots.len() * 2).max(1024);
        let Some(fresh) = SysVec::filled(EMPTY, capacity) else {
            return false;
        };
        let old = core::mem::replace(&mut self.slots, fresh);
        self.len = 0;
        for entry in old.as_slice().iter().filter(|e| e.address != 0) {
            self.insert(entry.address, entry.block);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(point: u32) -> LiveBlock {
        LiveBlock {
            point,
            birth: u64::from(point) * 10,
        }
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
