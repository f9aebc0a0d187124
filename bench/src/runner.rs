//! Timing and reporting, shared by every configuration binary.
//!
//! Each workload runs first on one thread, then on two threads that run the same loop. Before
//! timing, each thread does a short warm-up of the same loop, so first-touch costs
//! (thread-local set-up, the inner allocator's caches, a profiler's tables) are paid outside
//! the timed region. The timed operations are split into [`BATCHES`] batches that all
//! threads start together at a barrier, and the fastest batch is reported.
//!
//! Command line of a configuration binary (the driver passes only `--quick`; the others are for
//! profiling one case by hand, e.g. under `perf stat` or `valgrind --tool=callgrind`):
//!
//! - `--quick`: divide every iteration count by [`QUICK_DIVISOR`], for smoke runs;
//! - `--only WORKLOAD`: run just that workload (`pair64`, `mixed`, ...);
//! - `--threads N`: run just that thread count.
//!
//! A configuration may also ask for the memory-per-live-block probe ([`Config::memory_probe`]),
//! which runs first, in the fresh process: see [`memory_per_block`].

use std::sync::Barrier;
use std::time::Instant;

use crate::fp_probe;
use crate::protocol::{MEMORY_TAG, META_TAG, RESULT_TAG};
use crate::workload::{self, Workload};

/// How much `--quick` shrinks the iteration counts.
pub const QUICK_DIVISOR: u64 = 200;

/// Thread counts measured for every workload.
pub const THREAD_COUNTS: &[usize] = &[1, 2];

/// Events and frames a call-site tier has recorded so far (cumulative totals).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureTotals {
    /// Allocation events seen by the call-site machinery.
    pub events: u64,
    /// Frames recorded over those events.
    pub frames: u64,
}

/// One allocator configuration, as described by its binary.
pub struct Config<'a> {
    /// Name in the output and in the driver's table (`sys`, `tier1`, ...).
    pub name: &'static str,
    /// Iteration counts are divided by this: 1 for cheap allocators, more for slow ones.
    pub iter_divisor: u64,
    /// The workload lists this configuration runs, in order.
    pub workloads: &'a [&'static [Workload]],
    /// For call-site tiers: the running totals of events and frames, read before and after
    /// each measurement, so every result line carries the frames per event of its own
    /// workload and the driver can tell a real walk from one that captured nothing.
    pub capture_totals: Option<&'a dyn Fn() -> CaptureTotals>,
    /// True when the binary was built with a feature set it must not have (Cargo unifies
    /// features over all binaries built together); the driver then discards its results.
    pub contaminated: bool,
    /// Run [`memory_per_block`] first and print its `MEMORY` line.
    pub memory_probe: bool,
}

/// Runs every workload for `config` and prints the `META` and `RESULT` lines.
pub fn run(config: &Config<'_>) {
    let args = Args::parse();
    println!(
        "{META_TAG} config={} fp={} contaminated={}",
        config.name,
        fp_probe::describe(),
        u8::from(config.contaminated)
    );
    if config.memory_probe && args.only.is_none() {
        let probe = memory_per_block(MEMORY_BLOCKS, MEMORY_BLOCK_BYTES);
        match probe {
            Some(growth) => println!(
                "{MEMORY_TAG} config={} blocks={MEMORY_BLOCKS} block_bytes={MEMORY_BLOCK_BYTES} rss_growth_bytes={growth} per_block={:.1}",
                config.name,
                (growth as f64 - (MEMORY_BLOCKS * MEMORY_BLOCK_BYTES) as f64) / MEMORY_BLOCKS as f64
            ),
            None => eprintln!("bench: VmRSS is unavailable (no /proc/self/status); memory probe skipped"),
        }
    }
    for workload in config
        .workloads
        .iter()
        .flat_map(|list| list.iter())
        .filter(|w| args.only.as_deref().into_iter().all(|name| name == w.name))
    {
        let mut iters = (workload.iters / config.iter_divisor.max(1)).max(1);
        if args.quick {
            iters = (iters / QUICK_DIVISOR).max(1);
        }
        for &threads in THREAD_COUNTS
            .iter()
            .filter(|&&t| args.threads.into_iter().all(|only| only == t))
        {
            let before = config.capture_totals.map(|totals| totals());
            let timing = measure(workload, threads, iters);
            let mut line = format!(
                "{RESULT_TAG} config={} workload={} threads={threads} iters={iters} ns_per_op={:.2} agg_ns_per_op={:.2}",
                config.name, workload.name, timing.per_thread_ns, timing.aggregate_ns
            );
            if let (Some(totals), Some(before)) = (config.capture_totals, before) {
                let after = totals();
                let events = after.events.saturating_sub(before.events);
                let frames = after.frames.saturating_sub(before.frames);
                let per_event = if events == 0 {
                    0.0
                } else {
                    frames as f64 / events as f64
                };
                line.push_str(&format!(" frames_per_event={per_event:.2} events={events}"));
            }
            println!("{line}");
        }
    }
}

/// Live blocks allocated by the memory probe.
pub const MEMORY_BLOCKS: usize = 100_000;
/// Size of each of those blocks.
pub const MEMORY_BLOCK_BYTES: usize = 16;

/// The process's resident set size in bytes, from `VmRSS` in `/proc/self/status`.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Allocates `count` blocks of `size` bytes from one site, keeps them all alive, and returns
/// how much the resident set grew meanwhile (bytes). Whatever the allocator configuration
/// keeps per live block (its own table entries, the system allocator's headers) is in that
/// growth; the blocks' own bytes are subtracted by the caller.
///
/// The vector that holds the pointers is allocated and written before the first reading, so
/// its pages are not counted.
pub fn memory_per_block(count: usize, size: usize) -> Option<u64> {
    let mut held: Vec<*mut u8> = vec![std::ptr::null_mut(); count];
    for slot in held.iter_mut() {
        *slot = std::hint::black_box(std::ptr::null_mut());
    }
    let layout = std::alloc::Layout::from_size_align(size, 8).ok()?;
    let before = resident_bytes()?;
    for slot in held.iter_mut() {
        // SAFETY: `layout` has a non-zero size; the block is freed below with the same layout.
        *slot = unsafe { std::alloc::alloc(layout) };
    }
    let after = resident_bytes()?;
    for &block in &held {
        if !block.is_null() {
            // SAFETY: `block` came from `alloc` with `layout` above and is freed once.
            unsafe { std::alloc::dealloc(block, layout) };
        }
    }
    Some(after.saturating_sub(before))
}

/// The command line of a configuration binary.
#[derive(Debug, Default)]
struct Args {
    quick: bool,
    only: Option<String>,
    threads: Option<usize>,
}

impl Args {
    /// Parses the arguments; an unknown or malformed one is reported on stderr and ignored.
    fn parse() -> Args {
        let mut parsed = Args::default();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => parsed.quick = true,
                "--only" => parsed.only = args.next(),
                "--threads" => parsed.threads = args.next().and_then(|n| n.parse().ok()),
                other => eprintln!("bench: ignoring unknown argument {other}"),
            }
        }
        parsed
    }
}

/// How many timed batches one measurement is split into. Each thread keeps its fastest
/// batch: on a shared machine, preemption and other load only ever add time, so the fastest
/// batch is the best estimate of the allocator's own cost.
pub const BATCHES: u64 = 10;

/// Result of one timed run.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Mean over threads of (thread's fastest batch / the batch's operations).
    pub per_thread_ns: f64,
    /// Fastest batch's wall time, first thread's start to last thread's end, / the batch's
    /// operations summed over all threads.
    pub aggregate_ns: f64,
}

/// Times `iters` operations of `workload` on each of `threads` threads, in [`BATCHES`]
/// batches that all threads start together.
pub fn measure(workload: &Workload, threads: usize, iters: u64) -> Timing {
    let warm_up = (iters / 10).max(1);
    let batch_iters = (iters / BATCHES).max(1);
    let start_line = Barrier::new(threads);
    // spans[thread][batch]: each thread notes its own start and end. (Timing from the
    // spawning thread would include its wake-up latency after the barrier.)
    let spans: Vec<Vec<(Instant, Instant)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    workload::run(workload.kind, warm_up);
                    (0..BATCHES)
                        .map(|_| {
                            start_line.wait();
                            let start = Instant::now();
                            workload::run(workload.kind, batch_iters);
                            (start, Instant::now())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("workload thread panicked"))
            .collect()
    });
    let fastest = |times: &mut dyn Iterator<Item = f64>| times.fold(f64::INFINITY, f64::min);
    let per_thread = spans
        .iter()
        .map(|batches| {
            fastest(
                &mut batches
                    .iter()
                    .map(|(start, end)| (*end - *start).as_secs_f64()),
            )
        })
        .sum::<f64>()
        / threads as f64;
    let wall = fastest(&mut (0..BATCHES as usize).map(|batch| {
        let first_start = spans
            .iter()
            .map(|t| t[batch].0)
            .min()
            .expect("at least one thread");
        let last_end = spans
            .iter()
            .map(|t| t[batch].1)
            .max()
            .expect("at least one thread");
        (last_end - first_start).as_secs_f64()
    }));
    let ops = batch_iters as f64;
    Timing {
        per_thread_ns: per_thread * 1e9 / ops,
        aggregate_ns: wall * 1e9 / (ops * threads as f64),
    }
}
