//! Forks while other threads hold the crate's process-wide mutexes (Linux): the symbolizer's
//! parse cache, held through every lookup, and the call-site table's control lock, held as
//! profilers start and stop. Every child then looks up a symbol and starts a profiler
//! itself, and must finish; one that hangs is killed after a deadline and fails the test.
#![cfg(all(feature = "symbolicate", target_os = "linux"))]

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::fork::{run_child, Child};
use mod_alloc::{ModAlloc, Profiler, Symbolizer};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const FORKS: usize = 100;
/// A child looks up one address and starts one profiler: milliseconds; the margin is for a
/// loaded machine.
const CHILD_DEADLINE: Duration = Duration::from_secs(3);

#[inline(never)]
fn looked_up() -> usize {
    black_box(looked_up as fn() -> usize as usize)
}

/// Runs `work` in a loop on a new thread until `stop`; returns how many rounds it ran.
fn busy(stop: &Arc<AtomicBool>, work: fn()) -> std::thread::JoinHandle<u64> {
    let stop = Arc::clone(stop);
    std::thread::spawn(move || {
        let rounds = AtomicU64::new(0);
        while !stop.load(Ordering::Relaxed) {
            work();
            rounds.fetch_add(1, Ordering::Relaxed);
        }
        rounds.into_inner()
    })
}

#[test]
fn children_forked_while_the_crates_mutexes_are_held_do_not_hang() {
    // Parse this binary once, so that lookups in the loop are quick and frequent. (The
    // profilers' control lock is first taken by the busy thread below, perhaps during a
    // fork: the crate registers every lock's fork handlers as the program loads.)
    assert!(!Symbolizer::new().resolve(looked_up() + 1).is_empty());
    let stop = Arc::new(AtomicBool::new(false));
    let lookups = busy(&stop, || {
        black_box(Symbolizer::new().resolve(looked_up() + 1).len());
    });
    let profilers = busy(&stop, || drop(black_box(Profiler::start())));
    let mut outcome = Child::Passed;
    let mut forks = 0;
    while forks < FORKS && outcome == Child::Passed {
        outcome = run_child(CHILD_DEADLINE, || {
            let named = !Symbolizer::new().resolve(looked_up() + 1).is_empty();
            drop(Profiler::start());
            named
        });
        forks += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let (lookups, profilers) = (lookups.join().unwrap(), profilers.join().unwrap());
    assert_eq!(outcome, Child::Passed, "child {forks} of {FORKS}");
    assert!(
        lookups > 0 && profilers > 0,
        "{lookups} lookups, {profilers} profilers"
    );
}
