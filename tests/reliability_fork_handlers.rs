//! Fork handlers that allocate, registered before the heap profiler's own and after them
//! (Linux).
//!
//! `pthread_atfork` runs prepare handlers in the reverse order of registration, and the
//! others in order. The crate registers its handlers as the binary loads, so a handler
//! registered in `main` runs outside the profiler's locked window, and its allocations are
//! profiled as any others. A handler registered earlier, as a library's initialiser can,
//! runs inside it: after the profiler has taken its locks in the prepare phase, and before it
//! lets them go after the fork. Such a handler that allocates must neither hang the fork nor
//! be half-recorded; its events are left out. A watchdog ends the process with a message if
//! the fork hangs.
#![cfg(all(feature = "dhat-compat", target_os = "linux"))]

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(code: i32) -> !;
}

/// Calls of each allocating handler, in the parent.
static INNER_CALLS: AtomicUsize = AtomicUsize::new(0);
static OUTER_CALLS: AtomicUsize = AtomicUsize::new(0);
/// The sizes each allocates: no other block in the test has them.
const INNER_SIZE: usize = 48;
const OUTER_SIZE: usize = 56;

/// Registered before the crate's handlers, so it runs inside their window.
extern "C" fn inner_handler() {
    drop(black_box(vec![3u8; INNER_SIZE]));
    INNER_CALLS.fetch_add(1, Ordering::Relaxed);
}

/// Registered in `main`, after the crate's, so it runs outside their window.
extern "C" fn outer_handler() {
    drop(black_box(vec![4u8; OUTER_SIZE]));
    OUTER_CALLS.fetch_add(1, Ordering::Relaxed);
}

/// Registers [`inner_handler`] as an initialiser with a priority, which the linker places
/// before every initialiser without one, the crate's among them.
extern "C" fn register_inner_handler() {
    let registered = common::fork::register_handlers(
        Some(inner_handler),
        Some(inner_handler),
        Some(inner_handler),
    );
    INNER_REGISTERED.store(registered, Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array.00200"]
static REGISTER_INNER_HANDLER: extern "C" fn() = register_inner_handler;
static INNER_REGISTERED: AtomicBool = AtomicBool::new(false);

#[test]
fn allocating_fork_handlers_do_not_hang_the_fork() {
    assert!(INNER_REGISTERED.load(Ordering::Relaxed));
    assert!(common::fork::register_handlers(
        Some(outer_handler),
        Some(outer_handler),
        Some(outer_handler),
    ));
    common::start_watchdog(
        Duration::from_secs(60),
        "reliability_fork_handlers",
        "a fork hung: a deadlock in the fork handlers?",
    );
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
    assert_eq!(INNER_CALLS.load(Ordering::Relaxed), 40);
    assert_eq!(OUTER_CALLS.load(Ordering::Relaxed), 40);

    // The inner handler ran with the forking thread's events suspended, the outer one did
    // not: the profile holds the kept block and the outer handler's 40 blocks.
    let stats = dhat::HeapStats::get();
    assert_eq!(
        (stats.total_blocks, stats.total_bytes, stats.curr_bytes),
        (41, 100 + 40 * OUTER_SIZE as u64, 100),
        "{stats:?}"
    );
    drop(kept);
    drop(profiler);
}
