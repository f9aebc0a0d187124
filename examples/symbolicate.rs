//! Profile some work, then name the call sites that allocated most.
//!
//! ```text
//! RUSTFLAGS="-C force-frame-pointers=yes" cargo run --release --example symbolicate --features symbolicate
//! ```
//!
//! Frame pointers make the captured stacks complete (without them a release build captures
//! no frames, and the example prints a notice saying so); the release profile keeps line
//! tables (`debug = 1`), so frames show `file:line`.

mod demo {
    use std::collections::BTreeMap;
    use std::hint::black_box;

    use mod_alloc::{ModAlloc, Profiler, Symbolizer};

    #[global_allocator]
    static GLOBAL: ModAlloc = ModAlloc::new();

    #[inline(never)]
    fn build_index(words: usize) -> BTreeMap<String, usize> {
        (0..words).map(|i| (format!("word-{i}"), i)).collect()
    }

    #[inline(never)]
    fn big_buffer() -> Vec<u8> {
        vec![7u8; 256 * 1024]
    }

    // Many small blocks on purpose: one allocation per box, all from one call site.
    #[allow(clippy::vec_box)]
    #[inline(never)]
    fn many_small_boxes(count: usize) -> Vec<Box<u64>> {
        (0..count as u64).map(Box::new).collect()
    }

    pub fn main() {
        let profiler = Profiler::start();
        black_box(build_index(2_000));
        black_box(big_buffer());
        black_box(many_small_boxes(5_000));
        let report = profiler.call_sites();
        // Without frame pointers the lists below come out short or empty; this says why.
        if let Some(notice) = report.notice() {
            println!("{notice}");
        }
        let by_bytes = report.clone().sorted_by_bytes();
        let by_blocks = report.sorted_by_blocks();

        let mut symbolizer = Symbolizer::new();
        for (title, sites) in [("bytes", &by_bytes.sites), ("blocks", &by_blocks.sites)] {
            println!("Top call sites by {title}:");
            for (rank, site) in sites.iter().take(3).enumerate() {
                println!(
                    "#{} {} bytes in {} blocks",
                    rank + 1,
                    site.bytes,
                    site.count
                );
                for &address in &site.frames {
                    for symbol in symbolizer.resolve(address) {
                        let function = symbol.function.as_deref().unwrap_or("???");
                        match (&symbol.file, symbol.line) {
                            (Some(file), Some(line)) => {
                                println!("    {address:#x}: {function} ({file}:{line})")
                            }
                            _ => println!("    {address:#x}: {function}"),
                        }
                    }
                }
            }
            println!();
        }
        for note in symbolizer.notes() {
            println!("{note}");
        }
    }
}

fn main() {
    demo::main();
}
