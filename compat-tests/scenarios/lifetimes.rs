//! Times: block lifetimes (`tl`), the time of the peak (`tg`) and the end
//! (`te`). Events are spaced by sleeps of one unit (400 ms) and the times
//! are printed rounded to whole units, so both builds must print the same
//! numbers: a realloc restarts its block's lifetime, blocks still live at
//! the end are aged to the end, and the peak is at three units.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;
use std::mem::ManuallyDrop;
use std::time::Duration;

const UNIT_US: u64 = 400_000;

fn wait_one_unit() {
    std::thread::sleep(Duration::from_micros(UNIT_US));
}

#[inline(never)]
fn grown_later() -> Vec<u8> {
    black_box(Vec::with_capacity(10))
}

#[inline(never)]
fn kept_to_the_end() -> Box<[u8; 64]> {
    black_box(Box::new([0; 64]))
}

#[inline(never)]
fn at_the_peak() -> Vec<u8> {
    black_box(Vec::with_capacity(1000))
}

/// `"key": 123,` → 123, for the keys of one pretty-printed program point.
fn number(line: &str, key: &str) -> Option<u64> {
    let rest = line.trim().strip_prefix(&format!("\"{key}\": "))?;
    rest.trim_end_matches(',').parse().ok()
}

fn units(micros: u64) -> u64 {
    (micros + UNIT_US / 2) / UNIT_US
}

fn main() {
    let mut profiler = ManuallyDrop::new(dhat::Profiler::builder().build());
    let mut grown = grown_later();
    wait_one_unit();
    grown.reserve_exact(100);
    wait_one_unit();
    drop(grown);
    let kept = kept_to_the_end();
    wait_one_unit();
    let peak = at_the_peak();
    wait_one_unit();
    drop(peak);
    let json = profiler.drop_and_get_memory_output();

    let mut points: Vec<(u64, u64, u64)> = Vec::new();
    let (mut tb, mut tbk) = (0, 0);
    for line in json.lines() {
        if let Some(value) = number(line, "tg") {
            println!("tg: {} units", units(value));
        } else if let Some(value) = number(line, "te") {
            println!("te: {} units", units(value));
        } else if let Some(value) = number(line, "tb") {
            tb = value;
        } else if let Some(value) = number(line, "tbk") {
            tbk = value;
        } else if let Some(value) = number(line, "tl") {
            points.push((tb, tbk, units(value)));
        }
    }
    points.sort();
    for (tb, tbk, tl) in points {
        println!("point of {tb} bytes in {tbk} blocks: tl {tl} units");
    }
    drop(kept);
}
