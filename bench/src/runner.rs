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

/// What a call-site tier has recorded so far (cumulative totals), read by its probe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureTotals {
    /// Allocation events seen by the call-site machinery.
    pub events: u64,
    /// Of those, the events whose walk captured frames that reached the site table: counted
    /// at a site, or turned away only because another thread was still filling their slot
    /// (a lost race, not a failed walk). Events that captured no frame, or found no room in
    /// the table, are not in it.
    pub captured: u64,
    /// Frames recorded over all events.
    pub frames: u64,
    /// Sites in the report the probe read. A probe that allocates its report (ours: one
    /// block for the list and one per site) costs an amount set by this number and by the
    /// stack it is called from; see `settled_baseline`.
    pub sites: u64,
}

impl CaptureTotals {
    /// Field by field `self - earlier` (0 where a field went down).
    fn since(self, earlier: CaptureTotals) -> CaptureTotals {
        CaptureTotals {
            events: self.events.saturating_sub(earlier.events),
            captured: self.captured.saturating_sub(earlier.captured),
            frames: self.frames.saturating_sub(earlier.frames),
            sites: self.sites.saturating_sub(earlier.sites),
        }
    }

    /// Field by field `self + more`.
    fn plus(self, more: CaptureTotals) -> CaptureTotals {
        CaptureTotals {
            events: self.events.saturating_add(more.events),
            captured: self.captured.saturating_add(more.captured),
            frames: self.frames.saturating_add(more.frames),
            sites: self.sites,
        }
    }
}

/// How many readings [`settled_baseline`] takes at most before it gives up.
const PROBE_READINGS: usize = 6;

/// The totals to subtract from a measurement's closing reading: an opening reading plus
/// whatever the probe itself recorded after taking it.
///
/// A probe reads the running totals and then builds its report, and when that report is
/// allocated through the profiled allocator its blocks are events with frames of their own,
/// recorded after the reading: they would land in the measurement's window (about 1,550
/// blocks for our tier 2 by the last call-site workload) and make a walk that captured
/// nothing on the workload threads look like one that did. So the probe is read repeatedly
/// from this one call site, with nothing else running, until two readings list the same
/// number of sites. The second report then has the same blocks, walked from the same stack,
/// as the first, so it costs exactly what the first did, and that cost is the difference
/// of the two readings. `None` if the readings never settle (the cell is then withheld).
///
/// "From this one call site" must hold in the machine code too: an unrolled loop would call
/// the probe from a different return address each time, every report would then find its
/// blocks at new sites, and the readings would never settle. Hence the opaque trip count,
/// and no inlining into a caller that might unroll differently.
#[inline(never)]
fn settled_baseline(probe: &dyn Fn() -> CaptureTotals) -> Option<CaptureTotals> {
    let mut previous: Option<CaptureTotals> = None;
    for _ in 0..std::hint::black_box(PROBE_READINGS) {
        let reading = probe();
        if let Some(previous) = previous {
            if reading.sites == previous.sites {
                return Some(reading.plus(reading.since(previous)));
            }
        }
        previous = Some(reading);
    }
    None
}

/// The capture figures of one measurement, for its `RESULT` line.
fn capture_fields(window: Option<CaptureTotals>, expected_events: Option<u64>) -> String {
    let Some(window) = window else {
        // The cell cannot be checked; the driver withholds it.
        return " frames_per_event=0.00 events=0 captured=0 probe_settled=0".to_string();
    };
    let per_event = if window.events == 0 {
        0.0
    } else {
        window.frames as f64 / window.events as f64
    };
    let mut fields = format!(
        " frames_per_event={per_event:.2} events={} captured={} probe_settled=1",
        window.events, window.captured
    );
    if let Some(expected) = expected_events {
        fields.push_str(&format!(" expected_events={expected}"));
    }
    fields
}

/// One allocator configuration, as described by its binary.
pub struct Config<'a> {
    /// Name in the output and in the driver's table (`sys`, `tier1`, ...).
    pub name: &'static str,
    /// Iteration counts are divided by this: 1 for cheap allocators, more for slow ones.
    pub iter_divisor: u64,
    /// The workload lists this configuration runs, in order.
    pub workloads: &'a [&'static [Workload]],
    /// For call-site tiers: the probe of the running totals, read before and after each
    /// measurement, so every result line carries the events, captured events and frames
    /// per event of its own workload, and the driver can tell a real walk from one that
    /// captured nothing.
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
            let before = config.capture_totals.map(settled_baseline);
            let timing = measure(workload, threads, iters);
            // Read before anything else allocates on this thread, so the window holds the
            // measurement alone.
            let window = config
                .capture_totals
                .zip(before)
                .map(|(probe, before)| before.map(|before| probe().since(before)));
            let mut line = format!(
                "{RESULT_TAG} config={} workload={} threads={threads} iters={iters} ns_per_op={:.2} agg_ns_per_op={:.2}",
                config.name, workload.name, timing.per_thread_ns, timing.aggregate_ns
            );
            if let Some(window) = window {
                // Every operation the threads ran, warm-up included: the tier must have
                // recorded each one.
                let expected_events = workload
                    .kind
                    .allocations_per_op()
                    .map(|per_op| per_op * timing.ops_per_thread * threads as u64);
                line.push_str(&capture_fields(window, expected_events));
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
    /// Operations each thread ran in all, warm-up and every batch included.
    pub ops_per_thread: u64,
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
        ops_per_thread: warm_up + BATCHES * batch_iters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A probe like ours: it reads the totals, then allocates its report through the
    /// profiled allocator, one block for the list and one per site, each walked with
    /// `FRAMES` frames. The first report's two stacks are new sites.
    struct FakeProfiler {
        totals: Cell<CaptureTotals>,
        report_stacks_known: Cell<bool>,
    }

    const FRAMES: u64 = 16;

    impl FakeProfiler {
        fn probe(&self) -> CaptureTotals {
            let reading = self.totals.get();
            let blocks = 1 + reading.sites;
            let mut after = reading;
            after.events += blocks;
            after.captured += blocks;
            after.frames += blocks * FRAMES;
            if !self.report_stacks_known.replace(true) {
                after.sites += 2;
            }
            self.totals.set(after);
            reading
        }

        /// The workload: `events` events, each with `frames` frames (0: the walk failed).
        fn workload(&self, events: u64, frames: u64) {
            let mut totals = self.totals.get();
            totals.events += events;
            totals.captured += if frames > 0 { events } else { 0 };
            totals.frames += events * frames;
            self.totals.set(totals);
        }
    }

    fn fake(sites: u64) -> FakeProfiler {
        FakeProfiler {
            totals: Cell::new(CaptureTotals {
                sites,
                ..CaptureTotals::default()
            }),
            report_stacks_known: Cell::new(false),
        }
    }

    #[test]
    fn the_probes_own_report_is_netted_out_of_the_window() {
        for frames in [0, 6] {
            let profiler = fake(1_500);
            let probe = || profiler.probe();
            let before = settled_baseline(&probe).expect("the readings settle");
            profiler.workload(5_500, frames);
            let window = probe().since(before);
            assert_eq!(window.events, 5_500);
            assert_eq!(window.frames, 5_500 * frames);
            assert_eq!(window.captured, if frames > 0 { 5_500 } else { 0 });
        }
    }

    #[test]
    fn a_probe_that_never_settles_leaves_the_cell_unchecked() {
        let profiler = fake(10);
        let growing = || {
            let reading = profiler.probe();
            // A new site appears between every two readings.
            let mut totals = profiler.totals.get();
            totals.sites += 1;
            profiler.totals.set(totals);
            reading
        };
        assert_eq!(settled_baseline(&growing), None);
        assert!(capture_fields(None, Some(10)).contains("probe_settled=0"));
    }

    #[test]
    fn capture_fields_carry_the_expected_event_count() {
        let window = CaptureTotals {
            events: 11,
            captured: 10,
            frames: 60,
            sites: 0,
        };
        let fields = capture_fields(Some(window), Some(10));
        assert!(fields.contains("frames_per_event=5.45"), "{fields}");
        assert!(fields.contains("captured=10"), "{fields}");
        assert!(fields.contains("expected_events=10"), "{fields}");
        assert!(fields.contains("probe_settled=1"), "{fields}");
    }
}
