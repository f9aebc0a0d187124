//! The times of a heap profile: `tg` is when the heap reached its peak, not the start, and a
//! realloc starts its block's lifetime afresh (dhat's rule: the new block is a new block at
//! the original point, born at the realloc; the old one's lifetime is not counted).
#![cfg(feature = "dhat-compat")]

use std::hint::black_box;
use std::time::Duration;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Long against the few microseconds between the events each side of it. The bounds below
/// follow from `sleep` lasting at least this long, so load cannot break them (only a stall
/// of a whole pause between two adjacent lines could).
const PAUSE: Duration = Duration::from_millis(200);
const PAUSE_US: u64 = 200_000;

/// A block of 100 bytes that lives a `PAUSE`, is reallocated to 10,000 bytes and is freed at
/// once: the point has 2 blocks and 10,100 bytes, and a lifetime of about nothing.
#[inline(never)]
fn grown_then_freed() {
    let mut v: Vec<u8> = black_box(Vec::with_capacity(100));
    std::thread::sleep(PAUSE);
    v.reserve_exact(10_000);
    drop(black_box(v));
}

#[test]
fn the_peak_time_and_realloc_lifetimes() {
    let profiler = dhat::Profiler::builder().testing().build();
    std::thread::sleep(PAUSE);
    drop(black_box(vec![0u8; 1_000_000])); // the peak, a PAUSE after the start
    std::thread::sleep(PAUSE);
    grown_then_freed();
    let json: serde_json::Value = serde_json::from_str(&profiler.json_string().unwrap()).unwrap();
    drop(profiler);

    let tg = json["tg"].as_u64().unwrap();
    let te = json["te"].as_u64().unwrap();
    assert!(
        tg >= PAUSE_US,
        "tg {tg} µs: the peak came a pause after the start"
    );
    assert!(te >= tg + 2 * PAUSE_US, "tg {tg} µs, te {te} µs");

    let points = json["pps"].as_array().unwrap();
    let grown = points
        .iter()
        .find(|pp| pp["tb"].as_u64() == Some(10_100) && pp["tbk"].as_u64() == Some(2))
        .unwrap_or_else(|| panic!("no point with the realloc's figures: {points:?}"));
    let tl = grown["tl"].as_u64().unwrap();
    // Counting the first block's life would give at least a PAUSE; the block born at the
    // realloc lives only until the next line of `grown_then_freed`.
    assert!(
        tl < PAUSE_US,
        "tl {tl} µs: the lifetime before the realloc was counted"
    );
}
