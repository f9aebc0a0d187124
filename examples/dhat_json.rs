//! DHAT JSON on demand, without stopping the profiler.
//!
//! `cargo run --release --features dhat-compat --example dhat_json`
//!
//! dhat writes its file only when the profiler is dropped. Here the profile is also saved
//! half-way (`dhat-midway.json`) and taken as a string for a quick look, while profiling
//! goes on. Both files open in Valgrind's `dh_view.html`. The JSON is written by hand inside
//! mod-alloc; the program reads it back with serde_json only to print a summary.

#[cfg(feature = "dhat-compat")]
use mod_alloc::dhat_compat as dhat;

#[cfg(feature = "dhat-compat")]
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[cfg(feature = "dhat-compat")]
fn main() -> std::io::Result<()> {
    use std::fs::File;
    use std::io::BufWriter;

    let _profiler = dhat::Profiler::builder()
        .file_name("dhat-heap.json")
        .build();

    // Phase one: many small strings.
    let words: Vec<String> = (0..5_000).map(|i| format!("word{i}")).collect();
    _profiler.write_json_to(BufWriter::new(File::create("dhat-midway.json")?))?;

    // Phase two: one big buffer, and a look at the profile so far.
    let big = vec![0u8; 1 << 20];
    let json = _profiler.json_string()?;
    let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let mut points: Vec<(u64, u64)> = value["pps"]
        .as_array()
        .map(|pps| {
            pps.iter()
                .map(|pp| {
                    (
                        pp["tb"].as_u64().unwrap_or(0),
                        pp["tbk"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    points.sort_unstable_by(|a, b| b.cmp(a));
    println!("program points so far: {}", points.len());
    for (bytes, blocks) in points.iter().take(5) {
        println!("  {bytes:>9} bytes in {blocks:>6} blocks");
    }

    drop((words, big));
    Ok(())
    // `_profiler` drops here and writes the final `dhat-heap.json`.
}

#[cfg(not(feature = "dhat-compat"))]
fn main() {
    eprintln!("this example needs `--features dhat-compat`");
}
