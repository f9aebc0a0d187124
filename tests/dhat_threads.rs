//! Many threads at once: ad hoc events from several threads while others read the stats and
//! take on-demand JSON; every reader sees the count part-way and never going back, and the
//! totals and the JSON sums must agree at the end.
#![cfg(feature = "dhat-compat")]

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const READERS: usize = 2;
const WRITERS: u64 = 6;
const EVENTS: u64 = 2_000;

#[inline(never)]
fn event_a(weight: usize) {
    dhat::ad_hoc_event(weight);
}

#[inline(never)]
fn event_b(weight: usize) {
    dhat::ad_hoc_event(weight);
}

/// How long the writers wait at their midpoint for the readers before giving up (so a broken
/// read fails the test instead of hanging it). Ordinary runs wait for about one read.
const MIDPOINT_PATIENCE: Duration = Duration::from_secs(60);

#[test]
fn threads_share_one_profiler() {
    let mut profiler = ManuallyDrop::new(dhat::Profiler::builder().ad_hoc().build());
    let all_events = WRITERS * EVENTS;
    // Readers that have seen a count strictly between none and all: a read while writing.
    let saw_partial = Arc::new(AtomicUsize::new(0));
    // Writers halfway through; they go on once `resume` is set.
    let halfway = Arc::new(AtomicU64::new(0));
    let resume = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (done, saw_partial) = (Arc::clone(&done), Arc::clone(&saw_partial));
            std::thread::spawn(move || {
                let mut seen_partial = false;
                let mut last_events = 0;
                loop {
                    // Read before the stats: once it is set, every event has been recorded.
                    let finished = done.load(Ordering::Acquire);
                    let stats = dhat::AdHocStats::get();
                    assert!(stats.total_units >= stats.total_events);
                    assert!(stats.total_events >= last_events, "the count went back");
                    last_events = stats.total_events;
                    // A literal `Profiler` must never be dropped: that would stop profiling.
                    let literal = ManuallyDrop::new(dhat::Profiler);
                    let json = literal.json_string().unwrap();
                    assert!(json.starts_with("{\n  \"dhatFileVersion\": 2,"));
                    if !seen_partial && 0 < stats.total_events && stats.total_events < all_events {
                        seen_partial = true;
                        saw_partial.fetch_add(1, Ordering::Release);
                    }
                    if finished {
                        return (seen_partial, stats.total_events);
                    }
                }
            })
        })
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|t| {
            let (halfway, resume) = (Arc::clone(&halfway), Arc::clone(&resume));
            std::thread::spawn(move || {
                for i in 0..EVENTS {
                    if i == EVENTS / 2 {
                        halfway.fetch_add(1, Ordering::Release);
                        while !resume.load(Ordering::Acquire) {
                            std::thread::yield_now();
                        }
                    }
                    if (i + t) % 2 == 0 {
                        event_a(2);
                    } else {
                        event_b(1);
                    }
                }
            })
        })
        .collect();
    // Every writer is halfway, so the count is strictly partial until `resume`: the writers
    // wait there until each reader has read it, however the threads are scheduled. (A
    // reader that panicked ends the wait; it is joined below.)
    while halfway.load(Ordering::Acquire) < WRITERS && !writers.iter().any(|w| w.is_finished()) {
        std::thread::yield_now();
    }
    let waited = Instant::now();
    while saw_partial.load(Ordering::Acquire) < READERS
        && !readers.iter().any(|r| r.is_finished())
        && waited.elapsed() < MIDPOINT_PATIENCE
    {
        std::thread::yield_now();
    }
    resume.store(true, Ordering::Release);
    for writer in writers {
        writer.join().unwrap();
    }
    done.store(true, Ordering::Release);
    for reader in readers {
        // Each reader read while the writers were writing, and its last read, begun after
        // they had all finished, saw every event.
        assert_eq!(reader.join().unwrap(), (true, all_events));
    }

    let stats = dhat::AdHocStats::get();
    assert_eq!(stats.total_events, WRITERS * EVENTS);
    assert_eq!(stats.total_units, WRITERS * EVENTS / 2 * 3);
    let json: serde_json::Value =
        serde_json::from_str(&profiler.drop_and_get_memory_output()).unwrap();
    let pps = json["pps"].as_array().unwrap();
    let sum = |key: &str| -> u64 { pps.iter().map(|pp| pp[key].as_u64().unwrap()).sum() };
    assert_eq!(sum("tbk"), stats.total_events);
    assert_eq!(sum("tb"), stats.total_units);
    let mut lists: Vec<String> = pps.iter().map(|pp| pp["fs"].to_string()).collect();
    lists.sort();
    lists.dedup();
    assert_eq!(
        lists.len(),
        pps.len(),
        "no two program points share a frame list"
    );
}
