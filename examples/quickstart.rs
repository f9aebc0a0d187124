//! The main job: profile some real work, print what it allocated, and (with the
//! `dhat-compat` feature) write a `dhat-heap.json` of the same work for DHAT's viewer.
//!
//! `RUSTFLAGS="-C force-frame-pointers=yes" cargo run --release --features dhat-compat --example quickstart`
//!
//! Without the feature it prints the figures only.

use std::collections::HashMap;

use mod_alloc::{measure_thread, ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

/// Real work: build a corpus, count its words, and rank them.
fn word_frequencies(paragraphs: usize) -> Vec<(String, usize)> {
    let words = [
        "heap", "alloc", "frame", "pointer", "profile", "peak", "bytes", "block",
    ];
    let mut text = String::new();
    for i in 0..paragraphs {
        for j in 0..64 {
            text.push_str(words[(i * 7 + j * 3) % words.len()]);
            text.push(' ');
        }
        text.push('\n');
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word.to_owned()).or_default() += 1;
    }
    let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked
}

fn main() {
    // The Quick start. `black_box` keeps the optimiser from deleting a vector nobody reads,
    // so a release build reports it too (see "Measure values you use" in README.md).
    let p = Profiler::start();
    let v: Vec<u64> = std::hint::black_box((0..1_000).collect());
    drop(v);
    let stats = p.stop();
    println!("Allocations: {}", stats.alloc_count);
    println!("Total bytes: {}", stats.total_bytes);
    println!("Peak bytes: {}", stats.peak_bytes);

    // Real work, on every thread.
    let p = Profiler::start();
    let workers: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| word_frequencies(2_000)))
        .collect();
    let ranked: Vec<_> = workers
        .into_iter()
        .map(|w| w.join().expect("worker panicked"))
        .collect();
    let stats = p.stop();
    println!();
    println!(
        "word_frequencies on 4 threads (top word: {:?})",
        ranked[0][0]
    );
    println!("  allocations:   {}", stats.alloc_count);
    println!("  reallocations: {}", stats.realloc_count);
    println!("  frees:         {}", stats.dealloc_count);
    println!("  total bytes:   {}", stats.total_bytes);
    println!("  peak bytes:    {}", stats.peak_bytes);
    println!("  net bytes:     {}", stats.net_bytes);

    // The same work measured on this thread only: other threads cannot disturb it.
    let (_, own) = measure_thread(|| word_frequencies(2_000));
    println!();
    println!("word_frequencies on this thread only");
    println!("  allocations:   {}", own.alloc_count);
    println!("  total bytes:   {}", own.total_bytes);
    println!("  peak bytes:    {}", own.peak_bytes);
    drop(ranked);

    write_heap_profile();
}

/// Profiles the same work with the dhat-compatible heap profiler, which prints dhat's summary
/// and writes `dhat-heap.json` (open it in Valgrind's `dh_view.html`) when it is dropped.
#[cfg(feature = "dhat-compat")]
fn write_heap_profile() {
    println!();
    let _profiler = mod_alloc::dhat_compat::Profiler::new_heap();
    let ranked = word_frequencies(500);
    println!(
        "heap profile of word_frequencies (top word: {:?}):",
        ranked[0]
    );
}

#[cfg(not(feature = "dhat-compat"))]
fn write_heap_profile() {
    println!();
    println!("(build with `--features dhat-compat` to also write dhat-heap.json)");
}
