//! Symbolication: this crate's `dhat_compat` heap profiler on a program with 1,000 distinct
//! allocation sites, profiled to completion. Built only with `--features heap`.
//!
//! The timed part is the profiler's drop alone, which symbolises every frame and writes the
//! DHAT JSON to the path given by `--json PATH` (default: the null device). The driver
//! compares the frames of that file with the other profiler's.

use std::time::Instant;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static GLOBAL: dhat::Alloc = dhat::Alloc;

/// Distinct sites the program allocates from.
const SITES: usize = 1_000;

fn main() {
    let mut json = String::from("/dev/null");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--json" {
            json = args.next().unwrap_or(json);
        }
    }
    let profiler = dhat::Profiler::builder().file_name(&json).build();
    std::hint::black_box(bench_support::sites::touch_sites(SITES, 2));
    let start = Instant::now();
    drop(profiler);
    let finish = start.elapsed();
    println!(
        "FINISH config=sym_ours sites={SITES} finish_ms={:.3} contaminated={}",
        finish.as_secs_f64() * 1e3,
        u8::from(bench_support::contaminated(Some("heap")))
    );
}
