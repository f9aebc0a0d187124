//! The times of a heap profile that saw no allocation: dhat starts the time of the peak
//! just before the profile's start, so with no peak at all `tg` is 0 however long the
//! profile ran, while `te` still measures the whole run. A program of its own
//! (`harness = false`): a test runner's threads would allocate while the profile runs.

mod common;

use std::mem::ManuallyDrop;
use std::time::Duration;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Long against the time the profile takes to start and stop.
const PAUSE: Duration = Duration::from_millis(200);
const PAUSE_US: u64 = 200_000;

fn no_allocation_means_no_peak_time() {
    let mut profiler = ManuallyDrop::new(dhat::Profiler::builder().build());
    std::thread::sleep(PAUSE);
    let json = profiler.drop_and_get_memory_output();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();

    assert_eq!(json["pps"], serde_json::json!([]), "nothing was allocated");
    let te = json["te"].as_u64().unwrap();
    assert!(te >= PAUSE_US, "te {te} µs: the profile ran a pause");
    assert_eq!(
        json["tg"], 0,
        "no peak, so tg is 0, not the end (te {te} µs)"
    );
}

fn main() {
    common::check(
        "no_allocation_means_no_peak_time",
        no_allocation_means_no_peak_time,
    );
    common::finish(1);
}
