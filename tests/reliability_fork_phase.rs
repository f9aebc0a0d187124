//! Forks while another thread is inside the dhat API (Linux).
//!
//! `HeapStats::get` holds the profiler's phase lock while it waits for the heap profiler's
//! session lock. A fork that lands then must not leave the child with the phase lock held
//! by a thread the child does not have: every child here reads the stats itself and must
//! finish. A child that hangs is killed after a deadline and counted.
#![cfg(all(feature = "dhat-compat", target_os = "linux"))]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn kill(pid: i32, signal: i32) -> i32;
    fn _exit(code: i32) -> !;
}

const WNOHANG: i32 = 1;
const SIGKILL: i32 = 9;
const FORKS: usize = 200;
/// How long a child may take: it allocates once and reads the stats twice, a matter of
/// microseconds; the margin is for a loaded machine.
const CHILD_DEADLINE: Duration = Duration::from_secs(3);

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

#[test]
fn children_forked_during_stats_reads_do_not_hang() {
    let profiler = dhat::Profiler::builder().testing().build();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                black_box(dhat::HeapStats::get());
                drop(black_box(vec![1u8; 64]));
                reads += 1;
            }
            reads
        })
    };
    let (mut hung, mut failed) = (0, 0);
    for _ in 0..FORKS {
        // SAFETY: the child allocates, reads the stats and leaves with `_exit`.
        let pid = unsafe { fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let before = dhat::HeapStats::get();
            drop(black_box(vec![2u8; 1_000]));
            let after = dhat::HeapStats::get();
            let ok = after.total_bytes - before.total_bytes == 1_000;
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { _exit(if ok { 0 } else { 1 }) }
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
    let reads = reader.join().unwrap();
    assert_eq!((hung, failed), (0, 0), "of {FORKS} children");
    assert!(reads > 0, "the reader thread ran");
    drop(profiler);
}
