//! The measured loops. Every configuration binary runs exactly these.
//!
//! - `pairN`: allocate an `N`-byte `Vec<u8>` and free it again, the cheapest possible event
//!   pair, so any per-event cost of the allocator wrapper shows up undiluted. The block goes
//!   through [`black_box`] so the optimiser can neither elide the allocation nor hoist it.
//! - `mixed`: one iteration grows a `Vec<u32>` by pushes (several reallocations), formats a
//!   `String`, inserts it into a `HashMap` and removes the entry from 256 iterations earlier:
//!   a steady-state churn of differently sized, differently lived blocks, closer to real code
//!   and the baseline for heap-profiling comparisons.
//!
//! - `hot_dN` / `sitesK_dN`: one alloc+free of 64 bytes from one call site (hot) or from `K`
//!   distinct call sites in turn, each reached through `N` frames of recursion (see
//!   [`crate::sites`]): the workloads of the call-site tier, where the walk's depth and the
//!   table's spread are what is measured.
//!
//! Iteration counts are given per workload for a cheap allocator; slow configurations
//! (dhat) divide them, and report per operation so the figures stay comparable.

use std::collections::HashMap;
use std::hint::black_box;

/// What one workload does per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One allocation and one free of this many bytes.
    Pair(usize),
    /// One iteration of the mixed workload (several events).
    Mixed,
    /// One alloc+free of 64 bytes at one of `distinct` call sites, taken in turn, below
    /// `depth` frames of recursion.
    Sites { distinct: usize, depth: usize },
}

impl Kind {
    /// Allocations one operation makes, where that is a fixed number: one for a pair of a
    /// non-zero size and for a call-site operation (`Vec::with_capacity` of 64 bytes), none
    /// for a zero-sized pair; `None` for the mixed workload, whose vectors reallocate as
    /// they grow. The runner multiplies it by the operations it ran to get the events a
    /// call-site tier must have recorded.
    pub fn allocations_per_op(self) -> Option<u64> {
        match self {
            Kind::Pair(size) => Some(u64::from(size != 0)),
            Kind::Sites { .. } => Some(1),
            Kind::Mixed => None,
        }
    }
}

/// A named workload with its default iteration count per thread.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    /// Name used in the output (`pair64`, `mixed`).
    pub name: &'static str,
    /// What it does.
    pub kind: Kind,
    /// Operations per thread in a default run with a cheap allocator.
    pub iters: u64,
}

/// The allocator-overhead workloads (tier 1 and heap profiling), in the order they run and
/// are reported.
pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "pair16",
        kind: Kind::Pair(16),
        iters: 4_000_000,
    },
    Workload {
        name: "pair64",
        kind: Kind::Pair(64),
        iters: 4_000_000,
    },
    Workload {
        name: "pair1024",
        kind: Kind::Pair(1024),
        iters: 4_000_000,
    },
    Workload {
        name: "mixed",
        kind: Kind::Mixed,
        iters: 200_000,
    },
    // More call stacks than a small per-thread cache of program points holds, for the heap
    // profilers; for the others it is one more alloc+free of 64 bytes.
    Workload {
        name: "sites1024_d4",
        kind: Kind::Sites {
            distinct: 1024,
            depth: 4,
        },
        iters: SITE_ITERS,
    },
];

/// Operations per thread of each call-site workload.
const SITE_ITERS: u64 = 1_000_000;

/// The call-site workloads: one hot site and 512 distinct sites, at 4, 16 and 32 frames of
/// recursion above the allocation.
pub const CALL_SITE_WORKLOADS: &[Workload] = &[
    Workload {
        name: "hot_d4",
        kind: Kind::Sites {
            distinct: 1,
            depth: 4,
        },
        iters: SITE_ITERS,
    },
    Workload {
        name: "hot_d16",
        kind: Kind::Sites {
            distinct: 1,
            depth: 16,
        },
        iters: SITE_ITERS,
    },
    Workload {
        name: "hot_d32",
        kind: Kind::Sites {
            distinct: 1,
            depth: 32,
        },
        iters: SITE_ITERS,
    },
    Workload {
        name: "sites512_d4",
        kind: Kind::Sites {
            distinct: 512,
            depth: 4,
        },
        iters: SITE_ITERS,
    },
    Workload {
        name: "sites512_d16",
        kind: Kind::Sites {
            distinct: 512,
            depth: 16,
        },
        iters: SITE_ITERS,
    },
    Workload {
        name: "sites512_d32",
        kind: Kind::Sites {
            distinct: 512,
            depth: 32,
        },
        iters: SITE_ITERS,
    },
];

/// Every workload, in report order.
pub fn all() -> impl Iterator<Item = &'static Workload> {
    WORKLOADS.iter().chain(CALL_SITE_WORKLOADS)
}

/// Runs `iters` operations of `kind` on the calling thread.
pub fn run(kind: Kind, iters: u64) {
    match kind {
        Kind::Pair(16) => pairs::<16>(iters),
        Kind::Pair(64) => pairs::<64>(iters),
        Kind::Pair(1024) => pairs::<1024>(iters),
        Kind::Pair(size) => pairs_dynamic(size, iters),
        Kind::Mixed => {
            black_box(mixed(iters));
        }
        Kind::Sites { distinct, depth } => {
            black_box(from_sites(distinct, depth, iters));
        }
    }
}

/// Alloc+free pairs from `distinct` generated sites in turn, `depth` frames down.
#[inline(never)]
fn from_sites(distinct: usize, depth: usize, iters: u64) -> usize {
    let sites = &crate::sites::SITES[..distinct.clamp(1, crate::sites::SITE_COUNT)];
    let mut checksum = 0usize;
    let mut next = 0usize;
    for _ in 0..iters {
        checksum = checksum.wrapping_add(crate::sites::allocate_at_depth(depth, sites[next], 64));
        next += 1;
        if next == sites.len() {
            next = 0;
        }
    }
    checksum
}

/// Alloc+free pairs with a size known at compile time, as most real allocations are.
#[inline(never)]
fn pairs<const SIZE: usize>(iters: u64) {
    for _ in 0..iters {
        let block: Vec<u8> = Vec::with_capacity(SIZE);
        drop(black_box(block));
    }
}

#[inline(never)]
fn pairs_dynamic(size: usize, iters: u64) {
    for _ in 0..iters {
        let block: Vec<u8> = Vec::with_capacity(black_box(size));
        drop(black_box(block));
    }
}

/// How many map entries stay alive in the mixed workload.
const LIVE_ENTRIES: u64 = 256;

/// The mixed workload; returns a checksum so nothing can be optimised away.
#[inline(never)]
fn mixed(iters: u64) -> usize {
    let mut map: HashMap<u64, String> = HashMap::new();
    let mut checksum = 0usize;
    for i in 0..iters {
        let mut numbers = Vec::new();
        for k in 0..(i % 48 + 1) {
            numbers.push(k as u32);
        }
        let text = format!("entry-{i}-{}", black_box(&numbers).len());
        checksum = checksum.wrapping_add(text.len());
        map.insert(i, text);
        if i >= LIVE_ENTRIES {
            map.remove(&(i - LIVE_ENTRIES));
        }
    }
    checksum.wrapping_add(map.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_per_op_are_known_where_fixed() {
        assert_eq!(Kind::Pair(64).allocations_per_op(), Some(1));
        assert_eq!(Kind::Pair(0).allocations_per_op(), Some(0));
        assert_eq!(
            Kind::Sites {
                distinct: 512,
                depth: 4
            }
            .allocations_per_op(),
            Some(1)
        );
        assert_eq!(Kind::Mixed.allocations_per_op(), None);
    }
}
