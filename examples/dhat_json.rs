//! DHAT JSON on demand, for Valgrind's `dh_view.html`, without stopping the profiler.
//!
//! `RUSTFLAGS="-C force-frame-pointers=yes" cargo run --release --features dhat-compat --example dhat_json`
//!
//! Part one is the native workflow: `ModAlloc` as the global allocator, a
//! `mod_alloc::Profiler` running, and `GLOBAL.write_dhat_json(...)` writing its call sites
//! (`dhat-call-sites.json`): bytes and blocks per call site, every frame named. Part two
//! runs a dhat-style heap profile (`mod_alloc::dhat_compat`), which adds lifetimes and peaks:
//! while it runs, the same call writes its profile instead (`dhat-heap-so-far.json`), the
//! profiler itself can save it (`dhat-midway.json`) or hand it over as a string, and it
//! writes `dhat-heap.json` when it stops, as dhat does. Every file opens in `dh_view.html`. The JSON is written by hand inside mod-alloc;
//! the program reads it back with serde_json only to print a summary.

use mod_alloc::{dhat_compat as dhat, ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

fn main() -> std::io::Result<()> {
    // Part one: the native profiler's call sites.
    let profiler = Profiler::start();
    let words = make_words(5_000);
    let big = make_buffer(1 << 20);
    GLOBAL.write_dhat_json("dhat-call-sites.json")?;
    let stats = profiler.stop();
    println!(
        "dhat-call-sites.json: {} allocations, {} bytes",
        stats.alloc_count, stats.total_bytes
    );
    summarise(&std::fs::read_to_string("dhat-call-sites.json")?);
    drop((words, big));

    // Part two: a dhat-style heap profile, which takes precedence while it runs. dhat
    // writes its file (`dhat-heap.json`) only when the profiler stops; here the profile is
    // also saved half-way, taken as a string, and written through `GLOBAL` while it runs.
    let heap = dhat::Profiler::builder()
        .file_name("dhat-heap.json")
        .build();
    let words = make_words(5_000);
    heap.write_json_to(std::io::BufWriter::new(std::fs::File::create(
        "dhat-midway.json",
    )?))?;
    let big = make_buffer(1 << 20);
    println!("the heap profile so far:");
    summarise(&heap.json_string()?);
    GLOBAL.write_dhat_json("dhat-heap-so-far.json")?;
    drop((words, big));
    Ok(())
    // `heap` drops here, prints dhat's summary and writes the final `dhat-heap.json`.
}

/// Many small strings.
#[inline(never)]
fn make_words(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("word{i}")).collect()
}

/// One big buffer.
#[inline(never)]
fn make_buffer(len: usize) -> Vec<u8> {
    vec![0u8; len]
}

/// Prints the mode and the five largest program points of a DHAT document, each with the
/// example's own frame that allocated (or, without one, the innermost frame).
fn summarise(json: &str) {
    let value: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
    let ftbl = value["ftbl"].as_array().cloned().unwrap_or_default();
    let mut points: Vec<(u64, u64, String)> = value["pps"]
        .as_array()
        .map(|pps| {
            pps.iter()
                .map(|pp| {
                    let frames: Vec<&str> = pp["fs"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|index| ftbl.get(index.as_u64()? as usize)?.as_str())
                        .collect();
                    // The example's own frame that allocated, else the innermost one.
                    let top = frames
                        .iter()
                        .find(|frame| frame.contains(": dhat_json::"))
                        .or(frames.first())
                        .copied()
                        .unwrap_or("(no frames)")
                        .to_owned();
                    (
                        pp["tb"].as_u64().unwrap_or(0),
                        pp["tbk"].as_u64().unwrap_or(0),
                        top,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    points.sort_unstable_by(|a, b| b.cmp(a));
    println!("  mode {}, {} program points", value["mode"], points.len());
    for (bytes, blocks, top) in points.iter().take(5) {
        println!("  {bytes:>9} bytes in {blocks:>6} blocks at {top}");
    }
}
