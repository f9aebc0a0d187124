//! Fork handlers that allocate, registered before the heap profiler's own (Linux).
//!
//! `pthread_atfork` runs prepare handlers in the reverse order of registration, so a handler
//! registered before the profiler's runs after the profiler has taken its locks, and the
//! parent and child handlers run before the profiler lets them go. Such a handler that
//! allocates must neither hang the fork nor be half-recorded. A watchdog ends the process
//! with a message if the fork hangs.
#![cfg(all(feature = "dhat-compat", target_os = "linux"))]

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

extern "C" {
    fn pthread_atfork(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
    ) -> i32;
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn write(fd: i32, buffer: *const u8, count: usize) -> isize;
    fn _exit(code: i32) -> !;
}

/// Calls of the allocating handlers, in the parent.
static HANDLER_CALLS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn allocating_handler() {
    drop(black_box(vec![3u8; 48]));
    HANDLER_CALLS.fetch_add(1, Ordering::Relaxed);
}

/// Ends the process if the test has not finished in time, without allocating (the
/// allocator's locks may be what is stuck).
fn start_watchdog() {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(60));
        let message = b"reliability_fork_handlers: fork hung (deadlock in the fork handlers?)\n";
        // SAFETY: writes a static buffer to stderr, then ends the process.
        unsafe {
            write(2, message.as_ptr(), message.len());
            _exit(3);
        }
    });
}

#[test]
fn allocating_fork_handlers_do_not_hang_the_fork() {
    // Before any profiler starts, so before the profiler registers its handlers.
    // SAFETY: the handlers are plain functions that live for the whole process.
    let registered = unsafe {
        pthread_atfork(
            Some(allocating_handler),
            Some(allocating_handler),
            Some(allocating_handler),
        )
    };
    assert_eq!(registered, 0);
    start_watchdog();
    // The harness's main thread allocates once as it settles into waiting for this test; let
    // that happen before the profile starts.
    std::thread::sleep(Duration::from_millis(300));

    let profiler = dhat::Profiler::builder().testing().build();
    let kept = black_box(vec![1u8; 100]);
    for round in 0..20 {
        // SAFETY: the child allocates, reads the profile and leaves with `_exit`.
        let pid = unsafe { fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let before = dhat::HeapStats::get();
            drop(black_box(vec![2u8; 1_000]));
            let after = dhat::HeapStats::get();
            let ok = after.total_bytes - before.total_bytes == 1_000
                && after.curr_bytes == before.curr_bytes;
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { _exit(if ok { 0 } else { 1 }) }
        }
        let mut status = -1;
        // SAFETY: `pid` is our child and `status` a valid out-pointer.
        assert_eq!(unsafe { waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(status, 0, "child {round}: wrong figures or crashed");
    }
    // Prepare and parent handler, in the parent, each round.
    assert_eq!(HANDLER_CALLS.load(Ordering::Relaxed), 40);

    // The handlers ran with the forking thread's events suspended: the profile holds the
    // kept block alone.
    let stats = dhat::HeapStats::get();
    assert_eq!(
        (stats.total_blocks, stats.total_bytes, stats.curr_bytes),
        (1, 100, 100),
        "{stats:?}"
    );
    drop(kept);
    drop(profiler);
}
