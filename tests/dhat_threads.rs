//! Many threads at once: ad hoc events from several threads while others read the stats and
//! take on-demand JSON; the totals and the JSON sums must agree at the end.
#![cfg(feature = "dhat-compat")]

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

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

#[test]
fn threads_share_one_profiler() {
    let mut profiler = ManuallyDrop::new(dhat::Profiler::builder().ad_hoc().build());
    let done = Arc::new(AtomicBool::new(false));
    let reading = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (done, reading) = (Arc::clone(&done), Arc::clone(&reading));
            std::thread::spawn(move || {
                for reads in 1u64.. {
                    let stats = dhat::AdHocStats::get();
                    assert!(stats.total_units >= stats.total_events);
                    // A literal `Profiler` must never be dropped: that would stop profiling.
                    let literal = ManuallyDrop::new(dhat::Profiler);
                    let json = literal.json_string().unwrap();
                    assert!(json.starts_with("{\n  \"dhatFileVersion\": 2,"));
                    if reads == 1 {
                        reading.fetch_add(1, Ordering::Relaxed);
                    }
                    if done.load(Ordering::Relaxed) {
                        return reads;
                    }
                }
                unreachable!("a reader stops when the writers are done")
            })
        })
        .collect();
    // The writers start once every reader is reading, so reads overlap the writes however
    // the threads are scheduled. (A reader that panicked is joined below.)
    while reading.load(Ordering::Relaxed) < READERS && !readers.iter().any(|r| r.is_finished()) {
        std::thread::yield_now();
    }
    let writers: Vec<_> = (0..WRITERS)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..EVENTS {
                    if (i + t) % 2 == 0 {
                        event_a(2);
                    } else {
                        event_b(1);
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
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
