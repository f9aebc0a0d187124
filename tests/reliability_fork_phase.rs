//! Forks while another thread is inside the dhat API (Linux).
//!
//! `HeapStats::get` holds the profiler's phase lock while it waits for the heap profiler's
//! session lock. A fork that lands then must not leave the child with the phase lock held
//! by a thread the child does not have: every child here reads the stats itself and must
//! finish. A child that hangs is killed after a deadline and fails the test.
#![cfg(all(feature = "dhat-compat", target_os = "linux"))]

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::fork::{run_child, Child};
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const FORKS: usize = 200;
/// How long a child may take: it allocates once and reads the stats twice, a matter of
/// microseconds; the margin is for a loaded machine.
const CHILD_DEADLINE: Duration = Duration::from_secs(3);

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
    let mut outcome = Child::Passed;
    for _ in 0..FORKS {
        outcome = run_child(CHILD_DEADLINE, || {
            let before = dhat::HeapStats::get();
            drop(black_box(vec![2u8; 1_000]));
            let after = dhat::HeapStats::get();
            after.total_bytes - before.total_bytes == 1_000
        });
        if outcome != Child::Passed {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let reads = reader.join().unwrap();
    assert_eq!(outcome, Child::Passed);
    assert!(reads > 0, "the reader thread ran");
    drop(profiler);
}
