//! A fork that has already begun when one of the crate's mutexes is locked for the first time
//! (Linux). The crate registers its fork handlers before `main`, so the fork's prepare phase
//! waits for that first holder. Handlers registered at a mutex's first lock would miss a fork
//! already under way (glibc runs only the handlers registered before its prepare phase
//! began): the child would inherit the mutex held, and its own first lookup would hang.
//!
//! The test's own prepare handler, registered in `main` and so run before the crate's, sets
//! that up: it lets another thread start the process's first symbol lookup, which holds the
//! symbolizer's parse cache while it parses this binary, and returns while the lookup runs.
//! Each attempt needs a process whose symbolizer is unused, so it runs in a child process.
//!
//! With the handlers registered at first use, this hung the child in every run on an idle
//! machine. On a loaded one a run can still pass: the forking thread may be descheduled after
//! its prepare handler long enough for the lookup to let go of the lock before the fork
//! itself. So a regression is caught most of the time there, and a pass is never false.
#![cfg(all(feature = "symbolicate", target_os = "linux"))]

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::fork::{run_child, Child};
use mod_alloc::{ModAlloc, Symbolizer};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

/// The forked child's one lookup takes milliseconds once the parse is done; a hung child is
/// killed.
const CHILD_DEADLINE: Duration = Duration::from_secs(10);
/// How long the prepare handler lets the lookup run before the fork goes on. Taking the lock
/// is the lookup's first step; parsing this binary takes about 50 ms in a debug build and 6
/// ms in a release build, here.
const PAUSE: Duration = Duration::from_millis(1);
/// Exit status of a scenario whose lookup ended before the fork went on: it did not set up
/// what it checks, and a fresh process tries again.
const INCONCLUSIVE: i32 = 2;
const ATTEMPTS: usize = 5;

/// Set by the scenario for the one fork whose prepare handler starts the lookup.
static ARMED: AtomicBool = AtomicBool::new(false);
/// Prepare handler → lookup thread: start now.
static GO: AtomicBool = AtomicBool::new(false);
/// Lookup thread → prepare handler: about to call the symbolizer.
static ENTERED: AtomicBool = AtomicBool::new(false);
/// Set by the lookup thread when its lookup has returned.
static LOOKUP_DONE: AtomicBool = AtomicBool::new(false);
/// Whether the lookup was still running when the prepare handler returned.
static HELD_AT_FORK: AtomicBool = AtomicBool::new(false);

#[inline(never)]
fn looked_up() -> usize {
    black_box(looked_up as fn() -> usize as usize)
}

extern "C" fn start_first_lookup_during_prepare() {
    if !ARMED.swap(false, Ordering::AcqRel) {
        return;
    }
    GO.store(true, Ordering::Release);
    if common::wait_for(&ENTERED, Duration::from_secs(10)) {
        std::thread::sleep(PAUSE);
        HELD_AT_FORK.store(!LOOKUP_DONE.load(Ordering::Acquire), Ordering::Release);
    }
}

#[test]
fn a_fork_under_way_waits_for_a_mutexs_first_holder() {
    let binary = std::env::current_exe().unwrap();
    for _ in 0..ATTEMPTS {
        let output = common::child_test(&binary, "scenario_in_a_fresh_process")
            .output()
            .unwrap();
        match output.status.code() {
            Some(0) => return,
            Some(INCONCLUSIVE) => continue,
            _ => panic!(
                "{}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }
    panic!("in all {ATTEMPTS} attempts the first lookup ended before the fork went on");
}

/// Run by the test above, each time in a process of its own, in which nothing has used the
/// symbolizer yet.
#[test]
#[ignore = "run by a_fork_under_way_waits_for_a_mutexs_first_holder"]
fn scenario_in_a_fresh_process() {
    assert!(common::fork::register_handlers(
        Some(start_first_lookup_during_prepare),
        None,
        None
    ));
    let lookup = std::thread::spawn(|| {
        assert!(
            common::wait_for(&GO, Duration::from_secs(60)),
            "no fork began"
        );
        ENTERED.store(true, Ordering::Release);
        let named = !Symbolizer::new().resolve(looked_up() + 1).is_empty();
        LOOKUP_DONE.store(true, Ordering::Release);
        named
    });
    ARMED.store(true, Ordering::Release);
    let outcome = run_child(CHILD_DEADLINE, || {
        !Symbolizer::new().resolve(looked_up() + 1).is_empty()
    });
    assert!(lookup.join().unwrap(), "the parent's lookup named nothing");
    if !HELD_AT_FORK.load(Ordering::Acquire) {
        std::process::exit(INCONCLUSIVE);
    }
    assert_eq!(outcome, Child::Passed, "the forked child hung or failed");
}
