//! A fork that holds the standard library's environment lock while it waits for one of the
//! crate's locks (Linux).
//!
//! `Command::spawn` with a `pre_exec` hook forks, and std holds its environment lock (for
//! reading) across that fork. The crate's fork handlers wait for the call-site table's
//! control lock. A profiler start reads `MOD_ALLOC_BUCKETS` once, and a `set_var` that is
//! waiting for the environment lock keeps new readers out. So a start that read the variable
//! while holding the control lock would wait for the spawn, which waits for the start: a
//! deadlock of three threads. The test's own prepare handler, registered in `main` and so
//! run before the crate's, lines the three up in that order. A watchdog fails the test if
//! they hang.
#![cfg(all(feature = "backtraces", target_os = "linux"))]

mod common;

use std::os::unix::process::CommandExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mod_alloc::{ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

/// How long the prepare handler gives each thread to reach the lock it then waits for.
const SETTLE: Duration = Duration::from_millis(100);
/// How long a thread waits for the fork to begin: the main thread spawns at once.
const WAIT_LIMIT: Duration = Duration::from_secs(30);

/// Set for the one fork whose prepare handler lines the threads up.
static ARMED: AtomicBool = AtomicBool::new(false);
/// Prepare handler → writer thread: call `set_var` now.
static SET_NOW: AtomicBool = AtomicBool::new(false);
/// Prepare handler → profiler thread: start the process's first profiler now.
static START_NOW: AtomicBool = AtomicBool::new(false);

extern "C" fn line_up_during_prepare() {
    if !ARMED.swap(false, Ordering::AcqRel) {
        return;
    }
    // This thread holds the environment lock for reading: the writer now waits for it.
    SET_NOW.store(true, Ordering::Release);
    std::thread::sleep(SETTLE);
    // The first start takes the control lock and reads the variable.
    START_NOW.store(true, Ordering::Release);
    std::thread::sleep(SETTLE);
}

#[test]
fn a_profiler_start_does_not_read_the_environment_under_a_lock_a_fork_waits_for() {
    common::start_watchdog(
        Duration::from_secs(60),
        "reliability_fork_env_lock",
        "a profiler start, set_var and a spawn deadlocked",
    );
    assert!(common::fork::register_handlers(
        Some(line_up_during_prepare),
        None,
        None
    ));
    let writer = std::thread::spawn(|| {
        assert!(common::wait_for(&SET_NOW, WAIT_LIMIT), "no fork began");
        std::env::set_var("MOD_ALLOC_TEST_UNRELATED", "1");
    });
    let starter = std::thread::spawn(|| {
        assert!(common::wait_for(&START_NOW, WAIT_LIMIT), "no fork began");
        drop(Profiler::start());
    });
    ARMED.store(true, Ordering::Release);
    let mut command = std::process::Command::new("true");
    // SAFETY: the hook does nothing; it is there so that `spawn` forks.
    unsafe { command.pre_exec(|| Ok(())) };
    let status = command.status().expect("`true` runs");
    assert!(status.success());
    writer.join().unwrap();
    starter.join().unwrap();
    assert!(SET_NOW.load(Ordering::Acquire) && START_NOW.load(Ordering::Acquire));
}
