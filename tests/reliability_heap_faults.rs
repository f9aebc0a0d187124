//! An inner allocator that fails on a schedule while a dhat-compatible heap profile runs.
//!
//! `ModAlloc<Failing>` is the global allocator: the heap profiler's hooks live in `ModAlloc`,
//! so `dhat_compat::Profiler` profiles it like `dhat::Alloc`. Inside a fallible region (a
//! thread-local flag around this test's own raw allocator calls) every 7th call on the thread
//! returns null; everywhere else, the runtime's own allocations included, it never fails.
//! Nulls must come back unchanged and leave no trace in the profile, a failed realloc must
//! leave the block where it was with its original program point, and afterwards every
//! invariant of the profile holds.
#![cfg(feature = "dhat-compat")]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use mod_alloc::dhat_compat as dhat;
use mod_alloc::ModAlloc;

struct Failing;

thread_local! {
    /// Whether this thread is in a fallible region, and its calls so far in regions.
    static REGION: Cell<(bool, u64)> = const { Cell::new((false, 0)) };
}

/// Whether this call fails: every 7th call inside a region.
fn fail_now() -> bool {
    REGION
        .try_with(|region| {
            let (inside, calls) = region.get();
            if !inside {
                return false;
            }
            region.set((true, calls + 1));
            (calls + 1) % 7 == 0
        })
        .unwrap_or(false)
}

fn fallible<R>(f: impl FnOnce() -> R) -> R {
    REGION.with(|region| region.set((true, region.get().1)));
    let result = f();
    REGION.with(|region| region.set((false, region.get().1)));
    result
}

// SAFETY: forwards to `System`, or returns null, which `GlobalAlloc` allows for any call but
// `dealloc` (which always forwards).
unsafe impl GlobalAlloc for Failing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if fail_now() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if fail_now() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if fail_now() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: ModAlloc<Failing> = ModAlloc::with_inner(Failing);

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// What one run of [`churn`] did, counted by the caller independently of the profiler.
#[derive(Default, Debug)]
struct Tally {
    /// New blocks dhat counts: successful allocs and successful reallocs.
    blocks: u64,
    bytes: u64,
    nulls: u64,
    failed_reallocs: u64,
}

/// Random allocs, zeroed allocs, reallocs and frees through the global allocator, in a
/// fallible region. Leaves `live` blocks allocated, with `live_capacity` room reserved
/// beforehand so the bookkeeping vector never allocates inside the region.
#[inline(never)]
fn churn(seed: u64, ops: u64, live: &mut Vec<(*mut u8, Layout)>) -> Tally {
    let mut rng = Rng(seed | 1);
    let mut tally = Tally::default();
    fallible(|| {
        for _ in 0..ops {
            let roll = rng.next() % 10;
            if roll < 3 && !live.is_empty() {
                let (ptr, layout) = live.swap_remove((rng.next() % live.len() as u64) as usize);
                // SAFETY: allocated with `layout`, freed once.
                unsafe { GLOBAL.dealloc(ptr, layout) };
            } else if roll < 6 && !live.is_empty() {
                let index = (rng.next() % live.len() as u64) as usize;
                let (ptr, layout) = live[index];
                let new_size = 1 + (rng.next() % 4096) as usize;
                // SAFETY: `ptr` is live with `layout`; the new size is non-zero.
                let moved = unsafe { GLOBAL.realloc(ptr, layout, new_size) };
                if moved.is_null() {
                    tally.nulls += 1;
                    tally.failed_reallocs += 1;
                    // The old block must still be intact and owned by us.
                    // SAFETY: a failed realloc leaves `ptr` valid with `layout`.
                    unsafe { ptr.write_bytes(0x5A, layout.size()) };
                } else {
                    live[index] = (
                        moved,
                        Layout::from_size_align(new_size, layout.align()).unwrap(),
                    );
                    tally.blocks += 1;
                    tally.bytes += new_size as u64;
                }
            } else if live.len() < live.capacity() {
                let size = 1 + (rng.next() % 4096) as usize;
                let layout = Layout::from_size_align(size, 1 << (rng.next() % 8)).unwrap();
                // SAFETY: non-zero size.
                let ptr = unsafe {
                    if roll == 9 {
                        GLOBAL.alloc_zeroed(layout)
                    } else {
                        GLOBAL.alloc(layout)
                    }
                };
                if ptr.is_null() {
                    tally.nulls += 1;
                } else {
                    live.push((ptr, layout));
                    tally.blocks += 1;
                    tally.bytes += size as u64;
                }
            }
        }
    });
    tally
}

fn free_all(live: &mut Vec<(*mut u8, Layout)>) {
    for (ptr, layout) in live.drain(..) {
        // SAFETY: allocated with `layout`, freed once.
        unsafe { GLOBAL.dealloc(ptr, layout) };
    }
}

fn live_bytes(live: &[(*mut u8, Layout)]) -> usize {
    live.iter().map(|(_, layout)| layout.size()).sum()
}

/// Σtbk, Σtb, Σebk and Σeb over the program points whose frames include `churn`.
fn churn_sums(profile: &serde_json::Value) -> [u64; 4] {
    let ftbl = profile["ftbl"].as_array().expect("ftbl");
    let in_churn = |pp: &&serde_json::Value| {
        pp["fs"].as_array().unwrap().iter().any(|index| {
            let frame = ftbl[index.as_u64().unwrap() as usize].as_str().unwrap();
            frame.contains("reliability_heap_faults::churn")
        })
    };
    let pps: Vec<_> = profile["pps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(in_churn)
        .collect();
    let sum = |key: &str| pps.iter().map(|pp| pp[key].as_u64().unwrap()).sum::<u64>();
    [sum("tbk"), sum("tb"), sum("ebk"), sum("eb")]
}

/// Parses a profile and checks the invariants that tie the program points to the totals.
fn check_invariants(json: &str, stats: &dhat::HeapStats) {
    let profile: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
    common::assert_heap_profile(&profile, Some(common::Totals::from(stats)));
    assert!(stats.curr_bytes <= stats.max_bytes && stats.curr_blocks as u64 <= stats.total_blocks);
}

/// The test takes about a second in a debug build; the rest is room for the sanitizer builds
/// and a loaded machine. A profiler that mishandles a null can instead spin for good.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);

#[test]
fn scheduled_failures_under_heap_profiling() {
    common::start_watchdog(
        DEADLINE,
        "reliability_heap_faults",
        "a hang or a spin in the profiler?",
    );
    let ops: u64 = std::env::var("MOD_ALLOC_STRESS_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(200_000, |n: u64| (n / 5).max(10_000));
    let mut profiler =
        std::mem::ManuallyDrop::new(dhat::Profiler::builder().trim_backtraces(None).build());

    // One thread alone: the program points inside `churn` hold exactly what succeeded. (The
    // totals are not compared directly: the test harness's own thread may allocate while this
    // test runs, notably under ThreadSanitizer, and those blocks are rightly in the profile.)
    let mut live = Vec::with_capacity(512);
    let before = dhat::HeapStats::get();
    let tally = churn(0x5EED, ops, &mut live);
    let after = dhat::HeapStats::get();
    assert!(
        tally.nulls > ops / 20 && tally.failed_reallocs > 0,
        "{tally:?}"
    );
    let profile: serde_json::Value =
        serde_json::from_str(&profiler.json_string().unwrap()).unwrap();
    let in_churn = churn_sums(&profile);
    let expected = [
        tally.blocks,
        tally.bytes,
        live.len() as u64,
        live_bytes(&live) as u64,
    ];
    if in_churn == [0; 4] {
        // Built without frame pointers (the test command builds this test with them, and says
        // so): the blocks cannot be told apart by call site, so only the totals are bounded.
        common::frame_pointers_not_found(
            "no program point inside `churn`",
            "checking the totals only",
        );
        assert!(after.total_blocks - before.total_blocks >= tally.blocks);
        assert!(after.total_bytes - before.total_bytes >= tally.bytes);
    } else {
        assert_eq!(in_churn, expected, "{tally:?}");
    }
    let before_free = dhat::HeapStats::get();
    free_all(&mut live);
    let freed = dhat::HeapStats::get();
    assert!(freed.curr_bytes <= before_free.curr_bytes - expected[3] as usize);

    // Four threads at once, each with its own schedule; their blocks stay live to the end.
    let handles: Vec<_> = (0..4u64)
        .map(|i| {
            std::thread::spawn(move || {
                let mut live = Vec::with_capacity(256);
                let tally = churn(0xC0FFEE + i, ops / 4, &mut live);
                let kept = live
                    .iter()
                    .map(|&(p, l)| (p as usize, l))
                    .collect::<Vec<_>>();
                (tally, kept)
            })
        })
        .collect();
    let mut kept = Vec::new();
    let mut nulls = 0;
    for handle in handles {
        let (tally, blocks) = handle.join().unwrap();
        nulls += tally.nulls;
        kept.extend(blocks.into_iter().map(|(p, l)| (p as *mut u8, l)));
    }
    assert!(nulls > 0);
    let stats = dhat::HeapStats::get();
    assert!(stats.curr_bytes >= live_bytes(&kept), "{stats:?}");
    let json = profiler.json_string().expect("a running profile");
    check_invariants(&json, &stats);

    // The final profile, after the survivors are freed, still balances.
    free_all(&mut kept);
    let end = dhat::HeapStats::get();
    let json = profiler.drop_and_get_memory_output();
    check_invariants(&json, &end);
}
