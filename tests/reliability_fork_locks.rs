//! Forks while other threads hold the crate's process-wide mutexes (Linux): the symbolizer's
//! parse cache, held through every lookup, and the call-site table's control lock, held as
//! profilers start and stop. Every child then looks up a symbol and starts a profiler
//! itself, and must finish; one that hangs is killed after a deadline and fails the test.
#![cfg(all(feature = "symbolicate", target_os = "linux"))]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mod_alloc::{ModAlloc, Profiler, Symbolizer};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn kill(pid: i32, signal: i32) -> i32;
    fn _exit(code: i32) -> !;
}

const WNOHANG: i32 = 1;
const SIGKILL: i32 = 9;
const FORKS: usize = 100;
/// A child looks up one address and starts one profiler: milliseconds; the margin is for a
/// loaded machine.
const CHILD_DEADLINE: Duration = Duration::from_secs(3);

#[inline(never)]
fn looked_up() -> usize {
    black_box(looked_up as fn() -> usize as usize)
}

/// Waits for `pid` until the deadline; `None` if it had to be killed.
fn wait_or_kill(pid: i32) -> Option<i32> {
    let start = Instant::now();
    let mut status = 0;
    loop {
        // SAFETY: `pid` is our child and `status` a valid out-pointer.
        let done = unsafe { waitpid(pid, &mut status, WNOHANG) };
        assert!(done >= 0, "waitpid failed");
        if done == pid {
            return Some(status);
        }
        if start.elapsed() > CHILD_DEADLINE {
            // SAFETY: signals our own child, then reaps it.
            unsafe {
                kill(pid, SIGKILL);
                waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
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
    // Parse this binary once, so that lookups in the loop are quick and frequent.
    assert!(!Symbolizer::new().resolve(looked_up() + 1).is_empty());
    let stop = Arc::new(AtomicBool::new(false));
    let lookups = busy(&stop, || {
        black_box(Symbolizer::new().resolve(looked_up() + 1).len());
    });
    let profilers = busy(&stop, || drop(black_box(Profiler::start())));
    let (mut hung, mut failed) = (0, 0);
    for _ in 0..FORKS {
        // SAFETY: the child looks up a symbol, starts a profiler and leaves with `_exit`.
        let pid = unsafe { fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let named = !Symbolizer::new().resolve(looked_up() + 1).is_empty();
            drop(Profiler::start());
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { _exit(if named { 0 } else { 1 }) }
        }
        match wait_or_kill(pid) {
            None => hung += 1,
            Some(0) => {}
            Some(_) => failed += 1,
        }
        if hung + failed > 0 {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (lookups, profilers) = (lookups.join().unwrap(), profilers.join().unwrap());
    assert_eq!((hung, failed), (0, 0), "of {FORKS} children");
    assert!(
        lookups > 0 && profilers > 0,
        "{lookups} lookups, {profilers} profilers"
    );
}
