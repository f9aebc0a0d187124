//! The benchmark driver: runs the configuration binaries and prints a markdown report.
//!
//! It builds nothing. The configuration binaries (`sys`, `tier1`, ...) are looked for next to
//! the driver's own executable; build them first (BENCHMARKS.md, or `bench/run.sh`).
//!
//! Method:
//! - **Interleaved.** Each round runs every configuration once, and the starting
//!   configuration rotates from round to round, so slow drifts of the machine (thermal
//!   state, other load) spread over all configurations instead of biasing one.
//! - **Repeated.** `--rounds N` (default 7); each cell reports the median over rounds, with
//!   the min–max spread in a second table.
//! - **Relative.** Every cell also shows the ratio to the system allocator's median for the
//!   same workload and thread count.
//! - **Honest about capture, per cell.** For every measurement a call-site tier prints the
//!   events its workload must have made (every operation of every thread, warm-up included),
//!   the events whose walk captured frames, and the frames per event, all net of the
//!   probe's own allocations. A cell gets no figure, only the reason, if in any round more
//!   than `MAX_CAPTURE_SHORTFALL` (0.1%) of the events the workload made were not captured or
//!   the walk averaged under one frame per event: its "overhead" would measure a walk that
//!   did not happen. Smaller shortfalls are listed in the report.
//!
//! Besides timing, it collects the memory-per-live-block probe (`MEMORY` lines) and the
//! symbolication programs' finish times (`FINISH` lines), and compares the frames of the two
//! symbolication programs' DHAT JSON files.
//!
//! Options: `--quick` (tiny iteration counts, 2 rounds unless `--rounds` is given),
//! `--rounds N`, `--configs a,b,c`, `--taskset CPULIST` (pin each run with `taskset -c`),
//! `--strict` (after the report, exit with a failure and one line per problem if a
//! configuration was not built, was built with the wrong features or without frame
//! pointers, printed no result, or had a cell withheld, or if the symbolication programs'
//! frames could not be compared: for smoke runs that must prove the harness healthy).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use bench_support::protocol::{Line, FINISH_TAG, MEMORY_TAG, META_TAG, RESULT_TAG};
use bench_support::runner::THREAD_COUNTS;
use bench_support::workload::{Kind, Workload, CALL_SITE_WORKLOADS, WORKLOADS};

/// A configuration the driver knows how to present.
struct Known {
    /// The configuration's name (`--configs`), and the key of its figures.
    binary: &'static str,
    /// The program it runs, next to the driver: usually the one named `binary`.
    program: &'static str,
    /// Environment variables the program runs with.
    env: &'static [(&'static str, &'static str)],
    title: &'static str,
    /// The configuration the report cannot do without.
    required: bool,
    /// A symbolication program (one `FINISH` line, writes a DHAT JSON file).
    finish: bool,
}

const fn known(binary: &'static str, title: &'static str, required: bool) -> Known {
    Known {
        binary,
        program: binary,
        env: &[],
        title,
        required,
        finish: false,
    }
}

const KNOWN: &[Known] = &[
    known("sys", "System", true),
    known("tier1", "mod-alloc tier 1", true),
    known("modalloc101_counters", "mod-alloc 1.0.1 counters", false),
    known("tier2", "mod-alloc tier 2", false),
    // The same program at mod-alloc 1.0.1's depth, to compare like with like.
    Known {
        program: "tier2",
        env: &[("BENCH_TIER2_FRAMES", "8")],
        ..known("tier2_f8", "mod-alloc tier 2 at 8 frames", false)
    },
    // And deeper than the default, to price the frames beyond 16.
    Known {
        program: "tier2",
        env: &[("BENCH_TIER2_FRAMES", "32")],
        ..known("tier2_f32", "mod-alloc tier 2 at 32 frames", false)
    },
    known("modalloc101_bt", "mod-alloc 1.0.1 backtraces", false),
    known("heap_ours", "mod-alloc dhat_compat heap", false),
    known("dhat_heap", "dhat 0.3.3 heap", false),
    Known {
        finish: true,
        ..known("sym_ours", "mod-alloc dhat_compat finish", false)
    },
    Known {
        finish: true,
        ..known("sym_dhat", "dhat 0.3.3 finish", false)
    },
];

/// Tier 1 targets: ratio to System, per thread count.
const TIER1_TARGETS: &[(usize, f64)] = &[(1, 1.15), (2, 1.30)];
/// Call sites: tier 2 at 16 frames on one thread, ratio to System.
const TIER2_TARGET_RATIO: f64 = 4.0;
/// Call sites: tier 2 per-thread cost on 2 threads over 1 thread, hot site.
const TIER2_TARGET_SCALING: f64 = 1.5;
/// Heap profiling: how many times faster than dhat (per-thread time), by thread count.
const HEAP_TARGETS: &[(usize, f64)] = &[(1, 30.0), (2, 60.0)];
/// Heap profiling: mixed workload, 1 thread.
const HEAP_MIXED_TARGET: f64 = 20.0;

/// A call-site cell whose walk averaged fewer frames per event than this gets no figure:
/// every real walk records at least the allocating function's frame.
const MIN_FRAMES_PER_EVENT: f64 = 1.0;

/// The share of a workload's events a call-site cell may leave uncaptured and still get its
/// figure. mod-alloc 1.0.1's walker stops at the first frame pointer its sanity checks
/// reject, and now and then (a few events in some runs, none in most) that is the first
/// one, so the event records no frame. Every shortfall is listed under the call-site tables.
const MAX_CAPTURE_SHORTFALL: f64 = 0.001;

struct Options {
    quick: bool,
    rounds: usize,
    configs: Vec<&'static Known>,
    taskset: Option<String>,
    strict: bool,
}

fn parse_options() -> Result<Options, String> {
    let mut quick = false;
    let mut rounds = None;
    let mut configs: Vec<&'static Known> = KNOWN.iter().collect();
    let mut taskset = None;
    let mut strict = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--rounds" => {
                let value = args.next().ok_or("--rounds needs a number")?;
                let n: usize = value
                    .parse()
                    .map_err(|_| format!("--rounds: not a number: {value}"))?;
                rounds = Some(n.max(1));
            }
            "--configs" => {
                let value = args
                    .next()
                    .ok_or("--configs needs a comma-separated list")?;
                configs = value
                    .split(',')
                    .map(|name| {
                        KNOWN
                            .iter()
                            .find(|k| k.binary == name)
                            .ok_or(format!("unknown config: {name}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--taskset" => taskset = Some(args.next().ok_or("--taskset needs a CPU list")?),
            "--strict" => strict = true,
            "-h" | "--help" => {
                println!("usage: bench [--quick] [--rounds N] [--configs sys,tier1,...] [--taskset CPULIST] [--strict]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    let rounds = rounds.unwrap_or(if quick { 2 } else { 7 });
    Ok(Options {
        quick,
        rounds,
        configs,
        taskset,
        strict,
    })
}

type Cells = BTreeMap<(String, usize), Vec<f64>>;

/// Everything learned about one configuration over all rounds.
#[derive(Default)]
struct Collected {
    /// (workload, threads) -> per-thread ns/op, one per round.
    per_thread: Cells,
    /// (workload, threads) -> aggregate ns/op, one per round.
    aggregate: Cells,
    /// (workload, threads) -> frames captured per event, one per round (call-site tiers).
    frames: Cells,
    /// (workload, threads) -> why the cell gets no figure: the first capture problem seen
    /// in any round (see [`capture_problem`]).
    withheld_cells: BTreeMap<(String, usize), String>,
    /// (workload, threads) -> (events not captured, events made) of the worst round that
    /// missed some but stayed within [`MAX_CAPTURE_SHORTFALL`].
    capture_shortfalls: BTreeMap<(String, usize), (u64, u64)>,
    /// Memory probe: bytes per live block beyond the block's own bytes, one per round.
    memory_per_block: Vec<f64>,
    /// Symbolication programs: milliseconds to finish, one per round.
    finish_ms: Vec<f64>,
    /// Other `META` fields (last value seen), shown as notes.
    meta: BTreeMap<String, String>,
    frame_pointers: Option<String>,
    contaminated: bool,
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("bench: {message}");
            return ExitCode::from(2);
        }
    };
    let dir = match std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        Some(dir) => dir,
        None => {
            eprintln!("bench: cannot locate the driver's own executable");
            return ExitCode::FAILURE;
        }
    };

    let mut present: Vec<(&Known, PathBuf)> = Vec::new();
    let mut missing: Vec<&Known> = Vec::new();
    for known in &options.configs {
        let path = dir.join(format!("{}{}", known.program, std::env::consts::EXE_SUFFIX));
        if path.is_file() {
            present.push((known, path));
        } else {
            missing.push(known);
        }
    }
    if missing.iter().any(|k| k.required) {
        eprintln!("bench: configuration binaries missing next to the driver. Build them first:");
        eprintln!("  bench/run.sh          (or see BENCHMARKS.md for the cargo commands)");
        return ExitCode::FAILURE;
    }

    let json_dir = std::env::temp_dir().join(format!("mod-alloc-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&json_dir) {
        eprintln!("bench: cannot create {}: {e}", json_dir.display());
        return ExitCode::FAILURE;
    }
    let json_path = |known: &Known| json_dir.join(format!("{}.json", known.binary));

    let load_before = load_average();
    let mut collected: BTreeMap<&str, Collected> = BTreeMap::new();
    for round in 0..options.rounds {
        for offset in 0..present.len() {
            let (known, path) = &present[(round + offset) % present.len()];
            let json = known.finish.then(|| json_path(known));
            let stdout = match run_binary(
                path,
                known.env,
                options.quick,
                options.taskset.as_deref(),
                json.as_deref(),
            ) {
                Ok(stdout) => stdout,
                Err(message) => {
                    eprintln!("bench: {}: {message}", known.binary);
                    return ExitCode::FAILURE;
                }
            };
            absorb(collected.entry(known.binary).or_default(), &stdout);
        }
        eprintln!("bench: round {}/{} done", round + 1, options.rounds);
    }
    let load_after = load_average();

    let symbol_file = |binary: &str| {
        present
            .iter()
            .find(|(known, _)| known.binary == binary)
            .map(|(known, _)| json_path(known))
    };
    let frames = match (symbol_file("sym_ours"), symbol_file("sym_dhat")) {
        (Some(ours), Some(dhat)) => compare_symbol_files(&ours, &dhat),
        _ => Err("not run (a symbolication program is not built)".to_string()),
    };
    let problems = health_problems(&present, &missing, &collected, &frames);
    print_report(
        &options,
        &present,
        &missing,
        &collected,
        (load_before, load_after),
        frames,
    );
    let _ = std::fs::remove_dir_all(&json_dir);
    if options.strict && !problems.is_empty() {
        for problem in &problems {
            eprintln!("bench: --strict: {problem}");
        }
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Everything that makes a run unfit to prove the harness healthy, one line each (see
/// `--strict`): configurations not built, built with the wrong features or without frame
/// pointers, or silent; withheld cells; a failed frame comparison.
fn health_problems(
    present: &[(&Known, PathBuf)],
    missing: &[&Known],
    collected: &BTreeMap<&str, Collected>,
    frames: &Result<FrameComparison, String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for known in missing {
        problems.push(format!("{}: not built", known.binary));
    }
    for (known, _) in present {
        let Some(c) = collected.get(known.binary) else {
            problems.push(format!("{}: printed no result", known.binary));
            continue;
        };
        if c.per_thread.is_empty() && c.finish_ms.is_empty() {
            problems.push(format!("{}: printed no result", known.binary));
        }
        if let Some(reason) = withheld(c) {
            problems.push(format!("{}: {reason}", known.binary));
        }
        if let Some(fp) = c.frame_pointers.as_deref().filter(|&fp| fp != "yes") {
            problems.push(format!("{}: frame pointers: {fp}", known.binary));
        }
        for ((workload, threads), reason) in &c.withheld_cells {
            problems.push(format!(
                "{}: {workload} × {threads} thread(s): {reason}",
                known.binary
            ));
        }
    }
    let symbolication_ran = ["sym_ours", "sym_dhat"]
        .iter()
        .all(|binary| present.iter().any(|(known, _)| known.binary == *binary));
    if let (true, Err(reason)) = (symbolication_ran, frames) {
        problems.push(format!("symbolication frame comparison: {reason}"));
    }
    problems
}

fn run_binary(
    path: &Path,
    env: &[(&str, &str)],
    quick: bool,
    taskset: Option<&str>,
    json: Option<&Path>,
) -> Result<String, String> {
    let mut command = match taskset {
        Some(cpus) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpus).arg(path);
            command
        }
        None => Command::new(path),
    };
    command.envs(env.iter().copied());
    if quick {
        command.arg("--quick");
    }
    if let Some(json) = json {
        command.arg("--json").arg(json);
    }
    let output = command
        .output()
        .map_err(|e| format!("could not start: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "exited with {}; stderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|_| "output is not UTF-8".to_string())
}

fn absorb(into: &mut Collected, stdout: &str) {
    for line in stdout.lines().filter_map(Line::parse) {
        if line.get("contaminated") == Some("1") {
            into.contaminated = true;
        }
        if line.tag == META_TAG {
            for (key, value) in &line.fields {
                match key.as_str() {
                    "fp" => into.frame_pointers = Some(value.clone()),
                    "config" | "contaminated" => {}
                    _ => {
                        into.meta.insert(key.clone(), value.clone());
                    }
                }
            }
        } else if line.tag == MEMORY_TAG {
            if let Some(per_block) = line.number("per_block") {
                into.memory_per_block.push(per_block);
            }
        } else if line.tag == FINISH_TAG {
            if let Some(ms) = line.number("finish_ms") {
                into.finish_ms.push(ms);
            }
        } else if line.tag == RESULT_TAG {
            let (Some(workload), Some(threads), Some(per_thread), Some(aggregate)) = (
                line.get("workload"),
                line.number("threads"),
                line.number("ns_per_op"),
                line.number("agg_ns_per_op"),
            ) else {
                continue;
            };
            let key = (workload.to_string(), threads as usize);
            if let Some(reason) = capture_problem(&line) {
                into.withheld_cells.entry(key.clone()).or_insert(reason);
            } else if let Some((missed, made)) = capture_shortfall(&line) {
                let worst = into.capture_shortfalls.entry(key.clone()).or_default();
                if missed > worst.0 {
                    *worst = (missed, made);
                }
            }
            into.per_thread
                .entry(key.clone())
                .or_default()
                .push(per_thread);
            into.aggregate
                .entry(key.clone())
                .or_default()
                .push(aggregate);
            if let Some(frames) = line.number("frames_per_event") {
                into.frames.entry(key).or_default().push(frames);
            }
        }
    }
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// Why a configuration's numbers must not be shown at all, if they must not.
fn withheld(collected: &Collected) -> Option<String> {
    collected
        .contaminated
        .then(|| "built with the wrong features → no figure".to_string())
}

/// Why one measurement of a call-site tier (a `RESULT` line with `frames_per_event=`) does
/// not show a walk that really captured the workload's call sites, if it does not:
///
/// - the runner could not net its probe's own allocations out of the window
///   (`probe_settled=0`), so the figures below would include them;
/// - the walk averaged under [`MIN_FRAMES_PER_EVENT`];
/// - fewer events captured frames (`captured=`) than the workload made
///   (`expected_events=`), short by more than [`MAX_CAPTURE_SHORTFALL`] of them, or the
///   line does not say how many it made.
///
/// Lines without `frames_per_event=` (the other configurations) have nothing to check.
fn capture_problem(line: &Line) -> Option<String> {
    let frames_per_event = line.number("frames_per_event")?;
    if line.get("probe_settled") != Some("1") {
        return Some("capture probe did not settle → no figure".to_string());
    }
    if frames_per_event < MIN_FRAMES_PER_EVENT {
        return Some(format!(
            "captured {frames_per_event:.2} frames/event → no figure"
        ));
    }
    let Some(expected) = line.number("expected_events") else {
        return Some("no expected event count to check capture → no figure".to_string());
    };
    let captured = line.number("captured").unwrap_or(0.0);
    let allowed = (expected * MAX_CAPTURE_SHORTFALL).floor();
    (captured < expected - allowed)
        .then(|| format!("captured {captured} of {expected} events → no figure"))
}

/// How many of the workload's events a call-site measurement left uncaptured, and how many
/// it made, when it missed some (within what [`capture_problem`] allows).
fn capture_shortfall(line: &Line) -> Option<(u64, u64)> {
    let expected = line.number("expected_events")?;
    let captured = line.number("captured")?;
    (captured < expected).then_some(((expected - captured) as u64, expected as u64))
}

/// Lists the call-site cells that kept their figures although some events captured no
/// frame, with the worst round's shortfall, or says that every event was captured.
fn print_capture_shortfalls(present: &[(&Known, PathBuf)], collected: &BTreeMap<&str, Collected>) {
    let mut lines = Vec::new();
    let mut any_call_site_cell = false;
    for (known, _) in present {
        let Some(c) = collected.get(known.binary) else {
            continue;
        };
        any_call_site_cell |= !c.frames.is_empty();
        for ((workload, threads), (missed, made)) in &c.capture_shortfalls {
            if withheld_cell(c, &(workload.clone(), *threads)).is_none() {
                lines.push(format!(
                    "- {}, {workload} × {threads} thread(s): {missed} of {made} events",
                    known.title
                ));
            }
        }
    }
    if !any_call_site_cell {
        return;
    }
    if lines.is_empty() {
        println!("\nEvery shown call-site cell captured frames for every event of its workload, in every round.");
    } else {
        println!(
            "\nShown call-site cells in which some events captured no frame (worst round; up to {}% of a workload's events is allowed):\n",
            MAX_CAPTURE_SHORTFALL * 100.0
        );
        for line in lines {
            println!("{line}");
        }
    }
}

/// Why one cell must not be shown: the configuration is withheld, or the walk behind this
/// cell failed [`capture_problem`] in some round.
fn withheld_cell(collected: &Collected, key: &(String, usize)) -> Option<String> {
    withheld(collected).or_else(|| collected.withheld_cells.get(key).cloned())
}

/// The median frames per event of a call-site cell, unless it is withheld.
fn cell_frames(
    collected: &BTreeMap<&str, Collected>,
    binary: &str,
    workload: &str,
    threads: usize,
) -> Option<f64> {
    let c = collected.get(binary)?;
    let key = (workload.to_string(), threads);
    if withheld_cell(c, &key).is_some() {
        return None;
    }
    c.frames.get(&key).and_then(|f| median(f))
}

/// The median of a cell, unless it is withheld.
fn cell_median(
    collected: &BTreeMap<&str, Collected>,
    binary: &str,
    workload: &str,
    threads: usize,
    aggregate: bool,
) -> Option<f64> {
    cell_statistic(collected, (binary, workload, threads, aggregate), median)
}

/// The fastest round of a cell, unless it is withheld. On a loaded machine other work only
/// ever adds time, so this is the second, cleaner view beside the median.
fn cell_fastest(
    collected: &BTreeMap<&str, Collected>,
    binary: &str,
    workload: &str,
    threads: usize,
    aggregate: bool,
) -> Option<f64> {
    cell_statistic(
        collected,
        (binary, workload, threads, aggregate),
        |values| (!values.is_empty()).then(|| min_max(values).0),
    )
}

/// `statistic` over the rounds of one cell: (configuration, workload, threads, aggregate?).
fn cell_statistic(
    collected: &BTreeMap<&str, Collected>,
    (binary, workload, threads, aggregate): (&str, &str, usize, bool),
    statistic: impl Fn(&[f64]) -> Option<f64>,
) -> Option<f64> {
    let c = collected.get(binary)?;
    let key = (workload.to_string(), threads);
    if withheld_cell(c, &key).is_some() {
        return None;
    }
    let series = if aggregate {
        &c.aggregate
    } else {
        &c.per_thread
    };
    series.get(&key).and_then(|v| statistic(v))
}

#[derive(Clone, Copy, PartialEq)]
enum Shown {
    Medians,
    Aggregate,
    Spread,
}

fn print_report(
    options: &Options,
    present: &[(&Known, PathBuf)],
    missing: &[&Known],
    collected: &BTreeMap<&str, Collected>,
    load: (Option<String>, Option<String>),
    frames: Result<FrameComparison, String>,
) {
    println!(
        "## Benchmark report{}\n",
        if options.quick {
            " (--quick smoke run: figures are not meaningful)"
        } else {
            ""
        }
    );
    println!(
        "- CPU: {}{}",
        cpu_model().unwrap_or_else(|| "unknown".to_string()),
        if under_hypervisor() {
            " (virtual machine)"
        } else {
            ""
        }
    );
    println!("- System allocator: {}", system_allocator());
    println!(
        "- Logical CPUs: {}",
        std::thread::available_parallelism()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "unknown".to_string())
    );
    println!("- Compiler: {}", env!("BENCH_RUSTC_VERSION"));
    println!(
        "- Method: {} interleaved rounds (configurations round-robin, rotating start), median per cell; pinning: {}",
        options.rounds,
        options.taskset.as_deref().map_or("none".to_string(), |cpus| format!("taskset -c {cpus}"))
    );
    println!(
        "- Load average (1/5/15 min) before / after: {} / {}",
        load.0.as_deref().unwrap_or("unknown"),
        load.1.as_deref().unwrap_or("unknown")
    );
    for (known, _) in present {
        let Some(c) = collected.get(known.binary) else {
            continue;
        };
        let mut notes = Vec::new();
        match &c.frame_pointers {
            Some(fp) => notes.push(format!("frame pointers: {fp}")),
            None => notes.push("frame-pointer probe not run (no workload)".to_string()),
        }
        for (key, value) in &c.meta {
            notes.push(format!("{key}={value}"));
        }
        if let Some(reason) = withheld(c) {
            notes.push(reason);
        }
        println!(
            "- `{}` ({}): {}",
            known.binary,
            known.title,
            notes.join("; ")
        );
    }
    for known in missing {
        println!("- `{}` ({}): not built, skipped", known.binary, known.title);
    }

    println!("\n### Allocator overhead and heap profiling\n");
    println!("ns per operation per thread (median), ratio to System. `pairN`: one alloc+free of N bytes; `mixed`: one iteration of the mixed workload; `sites1024_d4`: one alloc+free of 64 bytes from 1,024 distinct sites in turn, 4 frames of recursion above the allocation.\n");
    print_table(present, collected, WORKLOADS, THREAD_COUNTS, Shown::Medians);
    println!("\n2 threads, aggregate: wall time / operations of both threads (median).\n");
    print_table(present, collected, WORKLOADS, &[2], Shown::Aggregate);
    println!("\nSpread over rounds, per thread: min–max ns.\n");
    print_table(present, collected, WORKLOADS, THREAD_COUNTS, Shown::Spread);

    println!("\n### Call sites\n");
    println!("ns per alloc+free of 64 bytes per thread (median), ratio to System, and frames captured per event. `hot_dN`: one site; `sites512_dN`: 512 distinct sites in turn; N frames of recursion above the allocation.\n");
    print_table(
        present,
        collected,
        CALL_SITE_WORKLOADS,
        THREAD_COUNTS,
        Shown::Medians,
    );
    println!("\nSpread over rounds, per thread: min–max ns.\n");
    print_table(
        present,
        collected,
        CALL_SITE_WORKLOADS,
        THREAD_COUNTS,
        Shown::Spread,
    );
    print_capture_shortfalls(present, collected);

    println!("\n### Memory per live block\n");
    println!(
        "{} live blocks of {} bytes from one site; growth of VmRSS minus the blocks' own bytes, per block (median; min–max).\n",
        bench_support::runner::MEMORY_BLOCKS,
        bench_support::runner::MEMORY_BLOCK_BYTES
    );
    println!("| configuration | bytes per live block | beyond System |\n|---|---|---|");
    let sys_memory = collected
        .get("sys")
        .and_then(|c| median(&c.memory_per_block));
    for (known, _) in present {
        let Some(c) = collected.get(known.binary) else {
            continue;
        };
        let Some(value) = median(&c.memory_per_block) else {
            continue;
        };
        let (low, high) = min_max(&c.memory_per_block);
        let beyond = match sys_memory {
            Some(base) if known.binary != "sys" => format!("{:.1}", value - base),
            _ => "–".to_string(),
        };
        println!(
            "| {} | {value:.1} ({low:.1}–{high:.1}) | {beyond} |",
            known.title
        );
    }

    println!("\n### Symbolication (1,000 distinct allocation sites)\n");
    println!("| profiler | finish, ms (median) | min–max |\n|---|---|---|");
    for (known, _) in present.iter().filter(|(k, _)| k.finish) {
        let Some(c) = collected.get(known.binary) else {
            continue;
        };
        if let Some(reason) = withheld(c) {
            println!("| {} | {reason} | |", known.title);
            continue;
        }
        if let Some(value) = median(&c.finish_ms) {
            let (low, high) = min_max(&c.finish_ms);
            println!("| {} | {value:.1} | {low:.1}–{high:.1} |", known.title);
        }
    }
    match &frames {
        Ok(comparison) => {
            println!(
                "\nUser-code frames (`bench_support::…`, compared as `function (file:line)`): dhat resolved {}, ours resolved {}; resolved by dhat but not by ours: {}; by ours only: {}.",
                comparison.dhat.len(),
                comparison.ours.len(),
                comparison.dhat_only.len(),
                comparison.ours.difference(&comparison.dhat).count()
            );
            for frame in comparison.dhat_only.iter().take(5) {
                println!("- missing from ours: `{frame}`");
            }
        }
        Err(reason) => println!("\nFrame comparison: {reason}"),
    }

    println!("\n### Targets\n");
    println!("Judged on medians. The fastest round of each side is shown too: on a shared machine other load only ever adds time.\n");
    println!("| target | measured (medians) | verdict | fastest rounds |\n|---|---|---|---|");
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    // (a / b) by medians and by fastest rounds; `aggregate` picks the 2-thread wall-time series.
    let ratios = |a: &str, b: &str, workload: &str, threads: usize, aggregate: bool| {
        let by_median = cell_median(collected, a, workload, threads, aggregate)?
            / cell_median(collected, b, workload, threads, aggregate)?;
        let by_fastest = cell_fastest(collected, a, workload, threads, aggregate)?
            / cell_fastest(collected, b, workload, threads, aggregate)?;
        Some((by_median, by_fastest))
    };
    for &(threads, target) in TIER1_TARGETS {
        for workload in WORKLOADS.iter().filter(|w| matches!(w.kind, Kind::Pair(_))) {
            if let Some((ratio, fastest)) = ratios("tier1", "sys", workload.name, threads, false) {
                println!(
                    "| tier 1 ≤ {target:.2}× System, {} × {threads} thread(s) | {ratio:.2}× | {} | {fastest:.2}× |",
                    workload.name,
                    verdict(ratio <= target)
                );
            }
        }
    }
    for depth in ["d4", "d16", "d32"] {
        let workload = format!("hot_{depth}");
        if let Some((ratio, fastest)) = ratios("tier2", "sys", &workload, 1, false) {
            let judged = depth == "d16";
            println!(
                "| tier 2 ≤ {TIER2_TARGET_RATIO:.0}× System, {workload} × 1 thread{} | {ratio:.2}× | {} | {fastest:.2}× |",
                if judged { "" } else { " (informative)" },
                if judged { verdict(ratio <= TIER2_TARGET_RATIO) } else { "–" }
            );
        }
    }
    for workload in CALL_SITE_WORKLOADS
        .iter()
        .filter(|w| w.name.starts_with("hot"))
    {
        if let (Some(one), Some(two)) = (
            cell_median(collected, "tier2", workload.name, 1, false),
            cell_median(collected, "tier2", workload.name, 2, false),
        ) {
            let fastest = cell_fastest(collected, "tier2", workload.name, 2, false)
                .zip(cell_fastest(collected, "tier2", workload.name, 1, false))
                .map_or("–".to_string(), |(two, one)| format!("{:.2}×", two / one));
            let scaling = two / one;
            println!(
                "| tier 2 per thread on 2 threads ≤ {TIER2_TARGET_SCALING:.1}× its 1-thread cost, {} | {scaling:.2}× ({} vs {} ns) | {} | {fastest} |",
                workload.name,
                ns(two),
                ns(one),
                verdict(scaling <= TIER2_TARGET_SCALING)
            );
        }
    }
    for &threads in THREAD_COUNTS {
        for workload in CALL_SITE_WORKLOADS {
            if let Some((ratio, fastest)) =
                ratios("tier2", "modalloc101_bt", workload.name, threads, false)
            {
                println!(
                    "| tier 2 faster than 1.0.1 backtraces, {} × {threads} thread(s) | {ratio:.2}× 1.0.1's time | {} | {fastest:.2}× |",
                    workload.name,
                    verdict(ratio < 1.0)
                );
            }
            if let Some((ratio, fastest)) =
                ratios("tier2_f8", "modalloc101_bt", workload.name, threads, false)
            {
                println!(
                    "| tier 2 at 8 frames faster than 1.0.1 backtraces (8 frames), {} × {threads} thread(s) | {ratio:.2}× 1.0.1's time | {} | {fastest:.2}× |",
                    workload.name,
                    verdict(ratio < 1.0)
                );
            }
        }
    }
    // What a frame costs: the same program at two depths, on every workload where the deeper
    // one captured at least one frame more per event. Informative, no target.
    for (shallow, deep) in [("tier2_f8", "tier2"), ("tier2", "tier2_f32")] {
        for workload in CALL_SITE_WORKLOADS {
            let (Some(shallow_frames), Some(deep_frames)) = (
                cell_frames(collected, shallow, workload.name, 1),
                cell_frames(collected, deep, workload.name, 1),
            ) else {
                continue;
            };
            let extra = deep_frames - shallow_frames;
            let per_frame = |deep_ns: Option<f64>, shallow_ns: Option<f64>| {
                Some((deep_ns? - shallow_ns?) / extra)
            };
            let Some(by_median) = per_frame(
                cell_median(collected, deep, workload.name, 1, false),
                cell_median(collected, shallow, workload.name, 1, false),
            ) else {
                continue;
            };
            if extra < 1.0 {
                continue;
            }
            let by_fastest = per_frame(
                cell_fastest(collected, deep, workload.name, 1, false),
                cell_fastest(collected, shallow, workload.name, 1, false),
            );
            println!(
                "| tier 2 cost per extra frame, {shallow_frames:.1} → {deep_frames:.1} frames, {} × 1 thread (informative) | {by_median:.2} ns/frame | – | {} |",
                workload.name,
                by_fastest.map_or("–".to_string(), |ns| format!("{ns:.2} ns/frame"))
            );
        }
    }
    for &(threads, target) in HEAP_TARGETS {
        // Two threads: throughput (wall time over both threads' operations), since a profiler
        // that serialises its threads shows it there and not in a thread's fastest batch.
        let aggregate = threads > 1;
        for workload in WORKLOADS.iter().filter(|w| matches!(w.kind, Kind::Pair(_))) {
            if let Some((speedup, fastest)) =
                ratios("dhat_heap", "heap_ours", workload.name, threads, aggregate)
            {
                println!(
                    "| heap profiling ≥ {target:.0}× faster than dhat, {} × {threads} thread(s){} | {speedup:.1}× | {} | {fastest:.1}× |",
                    workload.name,
                    if aggregate { ", throughput" } else { "" },
                    verdict(speedup >= target)
                );
            }
        }
    }
    for &threads in THREAD_COUNTS {
        let aggregate = threads > 1;
        if let Some((speedup, fastest)) =
            ratios("dhat_heap", "heap_ours", "mixed", threads, aggregate)
        {
            let judged = threads == 1;
            println!(
                "| heap profiling ≥ {HEAP_MIXED_TARGET:.0}× faster than dhat, mixed × {threads} thread(s){} | {speedup:.1}× | {} | {fastest:.1}× |",
                if judged { "" } else { ", throughput (informative)" },
                if judged { verdict(speedup >= HEAP_MIXED_TARGET) } else { "–" }
            );
        }
    }
    let memory = |binary: &str| {
        collected
            .get(binary)
            .and_then(|c| median(&c.memory_per_block))
    };
    if let (Some(ours), Some(theirs)) = (memory("heap_ours"), memory("dhat_heap")) {
        println!(
            "| memory per live block ≤ dhat's | {ours:.1} vs {theirs:.1} bytes | {} | |",
            verdict(ours <= theirs)
        );
    }
    let finish = |binary: &str| {
        collected
            .get(binary)
            .filter(|c| withheld(c).is_none())
            .and_then(|c| median(&c.finish_ms))
    };
    let fastest_finish = |binary: &str| {
        collected
            .get(binary)
            .filter(|c| withheld(c).is_none() && !c.finish_ms.is_empty())
            .map(|c| min_max(&c.finish_ms).0)
    };
    if let (Some(ours), Some(theirs)) = (finish("sym_ours"), finish("sym_dhat")) {
        println!(
            "| symbolication finish ≤ dhat's | {ours:.1} vs {theirs:.1} ms | {} | {} |",
            verdict(ours <= theirs),
            fastest_finish("sym_ours")
                .zip(fastest_finish("sym_dhat"))
                .map_or("–".to_string(), |(ours, theirs)| format!(
                    "{ours:.1} vs {theirs:.1} ms"
                ))
        );
    }
    if let Ok(comparison) = &frames {
        println!(
            "| every user frame dhat resolves, ours resolves | {} of {} | {} | |",
            comparison.dhat.len() - comparison.dhat_only.len(),
            comparison.dhat.len(),
            verdict(comparison.dhat_only.is_empty() && !comparison.dhat.is_empty())
        );
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (low, high)
}

/// The configurations with at least one figure for one of `workloads`.
fn columns<'a>(
    present: &'a [(&'a Known, PathBuf)],
    collected: &BTreeMap<&str, Collected>,
    workloads: &[Workload],
) -> Vec<&'a Known> {
    present
        .iter()
        .map(|(known, _)| *known)
        .filter(|known| {
            collected.get(known.binary).is_some_and(|c| {
                c.per_thread
                    .keys()
                    .any(|(name, _)| workloads.iter().any(|w| w.name == name))
            })
        })
        .collect()
}

fn print_table(
    present: &[(&Known, PathBuf)],
    collected: &BTreeMap<&str, Collected>,
    workloads: &[Workload],
    thread_counts: &[usize],
    shown: Shown,
) {
    let columns = columns(present, collected, workloads);
    let mut header = String::from("| workload | threads |");
    let mut rule = String::from("|---|---|");
    for known in &columns {
        header.push_str(&format!(" {} |", known.title));
        rule.push_str("---|");
    }
    println!("{header}\n{rule}");
    for &threads in thread_counts {
        for workload in workloads {
            print_row(&columns, collected, workload.name, threads, shown);
        }
    }
}

fn print_row(
    columns: &[&Known],
    collected: &BTreeMap<&str, Collected>,
    workload: &str,
    threads: usize,
    shown: Shown,
) {
    let key = (workload.to_string(), threads);
    let aggregate = shown == Shown::Aggregate;
    let base = cell_median(collected, "sys", workload, threads, aggregate);
    let mut row = format!("| {workload} | {threads} |");
    for known in columns {
        let cell = match collected.get(known.binary) {
            None => "–".to_string(),
            Some(c) => match withheld_cell(c, &key) {
                Some(reason) => reason,
                None => {
                    let series = if aggregate {
                        &c.aggregate
                    } else {
                        &c.per_thread
                    };
                    match series.get(&key) {
                        None => "–".to_string(),
                        Some(values) if shown == Shown::Spread => {
                            let (low, high) = min_max(values);
                            format!("{}–{}", ns(low), ns(high))
                        }
                        Some(values) => {
                            let value = median(values).unwrap_or(f64::NAN);
                            let mut cell = match base {
                                Some(base) if known.binary != "sys" => {
                                    format!("{} ({:.2}×)", ns(value), value / base)
                                }
                                _ => ns(value),
                            };
                            if let Some(frames) = c.frames.get(&key).and_then(|f| median(f)) {
                                cell.push_str(&format!(", {frames:.1} frames/event"));
                            }
                            cell
                        }
                    }
                }
            },
        };
        row.push_str(&format!(" {cell} |"));
    }
    println!("{row}");
}

/// User-code frames resolved in the two symbolication programs' DHAT files.
struct FrameComparison {
    ours: BTreeSet<String>,
    dhat: BTreeSet<String>,
    dhat_only: BTreeSet<String>,
}

fn compare_symbol_files(ours: &Path, dhat: &Path) -> Result<FrameComparison, String> {
    let ours = user_frames(ours)?;
    let dhat = user_frames(dhat)?;
    let dhat_only = dhat.difference(&ours).cloned().collect();
    Ok(FrameComparison {
        ours,
        dhat,
        dhat_only,
    })
}

/// The `function (file:line)` of every user-code frame in a DHAT file's frame table. A
/// frame is user code when its function is in the shared bench library, which holds the
/// 1,000 sites and the recursion both programs run.
fn user_frames(path: &Path) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    let table = json
        .get("ftbl")
        .and_then(|t| t.as_array())
        .ok_or_else(|| format!("{}: no `ftbl` array", path.display()))?;
    Ok(table
        .iter()
        .filter_map(|frame| frame.as_str())
        .filter_map(normalise_frame)
        .filter(|frame| frame.starts_with("bench_support::"))
        .collect())
}

/// `0x1234: path::to::function::h0123456789abcdef (dir/file.rs:12:5)` →
/// `path::to::function (file.rs:12)`. `None` for a frame without a resolved location.
fn normalise_frame(frame: &str) -> Option<String> {
    let body = match frame.split_once(": ") {
        Some((address, rest)) if address.starts_with("0x") => rest,
        _ => frame,
    };
    let (function, location) = body.strip_suffix(')')?.rsplit_once(" (")?;
    let function = strip_hash(function.trim());
    let mut parts = location.rsplitn(3, ':');
    let last = parts.next()?;
    let middle = parts.next()?;
    let (file, line) = match parts.next() {
        Some(file) => (file, middle),
        None => (middle, last),
    };
    if line.parse::<u32>().is_err() {
        return None;
    }
    let file = file.rsplit(['/', '\\']).next().unwrap_or(file);
    Some(format!("{function} ({file}:{line})"))
}

/// Drops a trailing `::h` + 16 hex digits (legacy mangling's hash).
fn strip_hash(function: &str) -> &str {
    match function.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            head
        }
        _ => function,
    }
}

/// One decimal below 100 ns, whole nanoseconds with thousands separators above: 11.9, 118, 2,510.
fn ns(value: f64) -> String {
    if value < 100.0 {
        return format!("{value:.1}");
    }
    let digits = (value.round() as u64).to_string();
    let head = digits.len() % 3;
    let mut grouped = digits[..head].to_string();
    for chunk in digits.as_bytes()[head..].chunks(3) {
        if !grouped.is_empty() {
            grouped.push(',');
        }
        grouped.push_str(std::str::from_utf8(chunk).unwrap_or(""));
    }
    grouped
}

fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|line| line.starts_with("model name") || line.starts_with("Model"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, value)| value.trim().to_string())
}

fn under_hypervisor() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|text| {
            text.lines().any(|line| {
                line.starts_with("flags") && line.split_whitespace().any(|f| f == "hypervisor")
            })
        })
        .unwrap_or(false)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn system_allocator() -> String {
    extern "C" {
        fn gnu_get_libc_version() -> *const std::os::raw::c_char;
    }
    // SAFETY: glibc returns a pointer to a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(gnu_get_libc_version()) };
    format!("glibc {} malloc", version.to_string_lossy())
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn system_allocator() -> String {
    format!("the platform allocator ({})", std::env::consts::OS)
}

fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn formats_nanoseconds() {
        assert_eq!(ns(11.94), "11.9");
        assert_eq!(ns(118.4), "118");
        assert_eq!(ns(2510.2), "2,510");
        assert_eq!(ns(1_234_567.0), "1,234,567");
    }

    /// One round of a call-site cell: `RESULT` line with the runner's capture fields.
    fn site_line(workload: &str, capture: &str) -> String {
        format!(
            "RESULT config=tier2 workload={workload} threads=1 iters=5000 ns_per_op=40 agg_ns_per_op=40 {capture}\n"
        )
    }

    #[test]
    fn a_walk_that_captured_nothing_gets_no_figure() {
        let mut collected = Collected::default();
        let healthy =
            "frames_per_event=6.02 events=5512 captured=5512 probe_settled=1 expected_events=5500";
        absorb(
            &mut collected,
            &format!(
                "META config=tier2 fp=yes contaminated=0\n{}{}",
                // The workload threads' events all captured nothing; a few events of the
                // runner's own (thread start-up) carried frames.
                site_line(
                    "hot_d16",
                    "frames_per_event=0.01 events=5512 captured=12 probe_settled=1 expected_events=5500"
                ),
                site_line("hot_d4", healthy),
            ),
        );
        let key = |w: &str| (w.to_string(), 1);
        assert_eq!(collected.per_thread.get(&key("hot_d16")), Some(&vec![40.0]));
        assert_eq!(collected.frame_pointers.as_deref(), Some("yes"));
        assert!(withheld_cell(&collected, &key("hot_d16"))
            .unwrap()
            .contains("0.01 frames/event"));
        assert_eq!(withheld_cell(&collected, &key("hot_d4")), None);
    }

    #[test]
    fn each_capture_rule_withholds_on_its_own() {
        let problem =
            |capture: &str| capture_problem(&Line::parse(&site_line("hot_d16", capture)).unwrap());
        // Frames per event look fine, but most of the workload's events were never captured
        // (say, the table turned them away).
        assert!(problem(
            "frames_per_event=9.00 events=5512 captured=612 probe_settled=1 expected_events=5500"
        )
        .unwrap()
        .contains("captured 612 of 5500 events"));
        // Every event counted, but the walks found (almost) nothing.
        assert!(problem(
            "frames_per_event=0.50 events=5512 captured=5512 probe_settled=1 expected_events=5500"
        )
        .unwrap()
        .contains("0.50 frames/event"));
        // The probe's own report could not be netted out.
        assert!(problem("frames_per_event=6.00 events=0 captured=0 probe_settled=0").is_some());
        // Nothing to check the captured events against.
        assert!(
            problem("frames_per_event=6.00 events=5512 captured=5512 probe_settled=1").is_some()
        );
        // Exactly the workload's events, all captured: shown.
        assert_eq!(
            problem("frames_per_event=1.00 events=5500 captured=5500 probe_settled=1 expected_events=5500"),
            None
        );
        // Not a call-site line: nothing to check.
        assert_eq!(
            capture_problem(&Line::parse("RESULT config=sys workload=pair64 threads=1 iters=10 ns_per_op=10 agg_ns_per_op=10").unwrap()),
            None
        );
    }

    #[test]
    fn one_bad_round_withholds_the_cell() {
        let mut collected = Collected::default();
        let healthy =
            "frames_per_event=6.02 events=5512 captured=5512 probe_settled=1 expected_events=5500";
        let bad =
            "frames_per_event=6.02 events=5512 captured=5000 probe_settled=1 expected_events=5500";
        absorb(&mut collected, &site_line("hot_d4", healthy));
        assert_eq!(
            withheld_cell(&collected, &(("hot_d4").to_string(), 1)),
            None
        );
        absorb(&mut collected, &site_line("hot_d4", bad));
        absorb(&mut collected, &site_line("hot_d4", healthy));
        assert!(withheld_cell(&collected, &("hot_d4".to_string(), 1)).is_some());
    }

    #[test]
    fn a_shortfall_within_the_allowance_keeps_the_figure_and_is_listed() {
        let mut collected = Collected::default();
        let key = ("sites512_d32".to_string(), 1);
        let line = |captured: u64| {
            site_line(
                "sites512_d32",
                &format!("frames_per_event=7.99 events=5506 captured={captured} probe_settled=1 expected_events=5500"),
            )
        };
        // 0.1% of 5,500 events is 5: one and then three missed events keep the figure, and
        // the worst round is remembered.
        absorb(&mut collected, &line(5499));
        absorb(&mut collected, &line(5497));
        absorb(&mut collected, &line(5500));
        assert_eq!(withheld_cell(&collected, &key), None);
        assert_eq!(collected.capture_shortfalls.get(&key), Some(&(3, 5500)));
        // Six missed events are one too many.
        absorb(&mut collected, &line(5494));
        assert!(withheld_cell(&collected, &key)
            .unwrap()
            .contains("captured 5494 of 5500 events"));
    }

    #[test]
    fn strict_names_every_problem() {
        let config = |binary: &str| KNOWN.iter().find(|k| k.binary == binary).unwrap();
        let present: Vec<(&Known, PathBuf)> = ["sys", "tier1", "tier2"]
            .iter()
            .map(|&binary| (config(binary), PathBuf::new()))
            .collect();
        let missing = vec![config("dhat_heap")];
        let mut collected: BTreeMap<&str, Collected> = BTreeMap::new();
        absorb(
            collected.entry("sys").or_default(),
            "META config=sys fp=yes contaminated=0\nRESULT config=sys workload=pair64 threads=1 iters=10 ns_per_op=10 agg_ns_per_op=10\n",
        );
        absorb(
            collected.entry("tier1").or_default(),
            "META config=tier1 fp=no contaminated=1\nRESULT config=tier1 workload=pair64 threads=1 iters=10 ns_per_op=10 agg_ns_per_op=10\n",
        );
        absorb(
            collected.entry("tier2").or_default(),
            &format!(
                "META config=tier2 fp=yes contaminated=0\n{}",
                site_line("hot_d16", "frames_per_event=0.01 events=5512 captured=12 probe_settled=1 expected_events=5500")
            ),
        );
        let frames = Err("not run".to_string());
        let problems = health_problems(&present, &missing, &collected, &frames);
        let has = |text: &str| problems.iter().any(|p| p.contains(text));
        assert!(has("dhat_heap: not built"), "{problems:?}");
        assert!(has("tier1: built with the wrong features"), "{problems:?}");
        assert!(has("tier1: frame pointers: no"), "{problems:?}");
        assert!(has("tier2: hot_d16 × 1 thread(s)"), "{problems:?}");
        assert_eq!(problems.len(), 4, "{problems:?}");

        // A healthy run has none.
        let healthy_present = &present[..1];
        let healthy = health_problems(healthy_present, &[], &collected, &frames);
        assert!(healthy.is_empty(), "{healthy:?}");
    }

    #[test]
    fn a_contaminated_binary_gets_no_figure() {
        let mut collected = Collected::default();
        absorb(&mut collected, "META config=tier1 fp=yes contaminated=1\n");
        assert!(withheld(&collected).is_some());
    }

    #[test]
    fn frames_normalise_to_function_file_line() {
        assert_eq!(
            normalise_frame("0x55d0c0de: bench_support::sites::site_7::h0123456789abcdef (/x/out/sites.rs:36:5)"),
            Some("bench_support::sites::site_7 (sites.rs:36)".to_string())
        );
        assert_eq!(
            normalise_frame("bench_support::sites::touch_sites (src/sites.rs:40)"),
            Some("bench_support::sites::touch_sites (sites.rs:40)".to_string())
        );
        assert_eq!(normalise_frame("0x1234: ???"), None);
        assert_eq!(normalise_frame("[root]"), None);
    }
}
