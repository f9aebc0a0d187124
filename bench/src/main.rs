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
//! - **Honest about capture.** A call-site tier whose walker recorded 0 frames per event gets
//!   no figure, since its "overhead" would measure a walk that did not happen.
//!
//! Options: `--quick` (tiny iteration counts, 2 rounds unless `--rounds` is given),
//! `--rounds N`, `--configs a,b,c`, `--taskset CPULIST` (pin each run with `taskset -c`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use bench_support::protocol::{Line, META_TAG, RESULT_TAG};
use bench_support::runner::THREAD_COUNTS;
use bench_support::workload::{Kind, WORKLOADS};

/// A configuration the driver knows how to present.
struct Known {
    binary: &'static str,
    title: &'static str,
    /// The configuration the report cannot do without.
    required: bool,
}

const KNOWN: &[Known] = &[
    Known {
        binary: "sys",
        title: "System",
        required: true,
    },
    Known {
        binary: "tier1",
        title: "mod-alloc tier 1",
        required: true,
    },
    Known {
        binary: "modalloc101_counters",
        title: "mod-alloc 1.0.1 counters",
        required: false,
    },
    Known {
        binary: "tier2",
        title: "mod-alloc tier 2",
        required: false,
    },
    Known {
        binary: "dhat_heap",
        title: "dhat 0.3.3 heap",
        required: false,
    },
];

/// Tier 1 targets: ratio to System, per thread count.
const TIER1_TARGETS: &[(usize, f64)] = &[(1, 1.15), (2, 1.30)];

struct Options {
    quick: bool,
    rounds: usize,
    configs: Vec<&'static Known>,
    taskset: Option<String>,
}

fn parse_options() -> Result<Options, String> {
    let mut quick = false;
    let mut rounds = None;
    let mut configs: Vec<&'static Known> = KNOWN.iter().collect();
    let mut taskset = None;
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
            "-h" | "--help" => {
                println!("usage: bench [--quick] [--rounds N] [--configs sys,tier1,...] [--taskset CPULIST]");
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
    })
}

/// Everything learned about one configuration over all rounds.
#[derive(Default)]
struct Collected {
    /// (workload, threads) -> per-thread ns/op, one per round.
    per_thread: BTreeMap<(String, usize), Vec<f64>>,
    /// (workload, threads) -> aggregate ns/op, one per round.
    aggregate: BTreeMap<(String, usize), Vec<f64>>,
    /// Lowest frames-per-event value seen, for call-site tiers.
    frames_per_event: Option<f64>,
    frame_pointers: Option<String>,
    contaminated: bool,
    counted_allocs: Option<String>,
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
        let path = dir.join(format!("{}{}", known.binary, std::env::consts::EXE_SUFFIX));
        if path.is_file() {
            present.push((known, path));
        } else {
            missing.push(known);
        }
    }
    if missing.iter().any(|k| k.required) {
        eprintln!("bench: configuration binaries missing next to the driver. Build them first:");
        eprintln!("  cd bench && ./run.sh          (or see BENCHMARKS.md for the cargo commands)");
        return ExitCode::FAILURE;
    }

    let load_before = load_average();
    let mut collected: BTreeMap<&str, Collected> = BTreeMap::new();
    for round in 0..options.rounds {
        for offset in 0..present.len() {
            let (known, path) = &present[(round + offset) % present.len()];
            let stdout = match run_binary(path, options.quick, options.taskset.as_deref()) {
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

    print_report(
        &options,
        &present,
        &missing,
        &collected,
        (load_before, load_after),
    );
    ExitCode::SUCCESS
}

fn run_binary(path: &Path, quick: bool, taskset: Option<&str>) -> Result<String, String> {
    let mut command = match taskset {
        Some(cpus) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpus).arg(path);
            command
        }
        None => Command::new(path),
    };
    if quick {
        command.arg("--quick");
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
        if line.tag == META_TAG {
            if let Some(fp) = line.get("fp") {
                into.frame_pointers = Some(fp.to_string());
            }
            if line.get("contaminated") == Some("1") {
                into.contaminated = true;
            }
            if let Some(count) = line.get("counted_allocs") {
                into.counted_allocs = Some(count.to_string());
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
            into.per_thread
                .entry(key.clone())
                .or_default()
                .push(per_thread);
            into.aggregate.entry(key).or_default().push(aggregate);
            if let Some(frames) = line.number("frames_per_event") {
                into.frames_per_event = Some(
                    into.frames_per_event
                        .map_or(frames, |seen: f64| seen.min(frames)),
                );
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

/// Why a configuration's numbers must not be shown, if they must not.
fn withheld(collected: &Collected) -> Option<String> {
    if collected.contaminated {
        return Some("built with the wrong features → no figure".to_string());
    }
    match collected.frames_per_event {
        Some(frames) if frames <= 0.0 => Some("captured 0 frames/event → no figure".to_string()),
        _ => None,
    }
}

type Series = fn(&Collected) -> &BTreeMap<(String, usize), Vec<f64>>;

fn print_report(
    options: &Options,
    present: &[(&Known, PathBuf)],
    missing: &[&Known],
    collected: &BTreeMap<&str, Collected>,
    load: (Option<String>, Option<String>),
) {
    println!(
        "## Allocator overhead{}\n",
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
        let mut notes = vec![format!(
            "frame pointers: {}",
            c.frame_pointers.as_deref().unwrap_or("unknown")
        )];
        if let Some(count) = &c.counted_allocs {
            notes.push(format!("allocations counted by the allocator: {count}"));
        }
        if let Some(frames) = c.frames_per_event {
            notes.push(format!("frames/event: {frames:.2}"));
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

    println!("\nns per operation per thread (median), ratio to System. `pairN`: one alloc+free of N bytes; `mixed`: one iteration of the mixed workload.\n");
    print_table(present, collected, |c| &c.per_thread, true);
    println!("\n2 threads, aggregate: wall time / operations of both threads (median).\n");
    print_table_for_threads(present, collected, |c| &c.aggregate, 2);
    println!("\nSpread over rounds, per thread: min–max ns.\n");
    print_table(present, collected, |c| &c.per_thread, false);

    println!("\nTier 1 targets (per-thread ratio to System, alloc+free pair workloads):\n");
    let Some(system) = collected.get("sys") else {
        return;
    };
    let Some(tier1) = collected.get("tier1") else {
        return;
    };
    if let Some(reason) = withheld(tier1) {
        println!("- tier1: {reason}");
        return;
    }
    for &(threads, target) in TIER1_TARGETS {
        for workload in WORKLOADS.iter().filter(|w| matches!(w.kind, Kind::Pair(_))) {
            let key = (workload.name.to_string(), threads);
            let (Some(base), Some(ours)) = (
                system.per_thread.get(&key).and_then(|v| median(v)),
                tier1.per_thread.get(&key).and_then(|v| median(v)),
            ) else {
                continue;
            };
            let ratio = ours / base;
            let verdict = if ratio <= target { "met" } else { "MISSED" };
            println!(
                "- {} × {threads} thread(s): {ratio:.2}× (target ≤ {target:.2}×): {verdict}",
                workload.name
            );
        }
    }
}

fn print_table(
    present: &[(&Known, PathBuf)],
    collected: &BTreeMap<&str, Collected>,
    series: Series,
    medians: bool,
) {
    print_header(present);
    for &threads in THREAD_COUNTS {
        for workload in WORKLOADS {
            print_row(present, collected, series, workload.name, threads, medians);
        }
    }
}

fn print_table_for_threads(
    present: &[(&Known, PathBuf)],
    collected: &BTreeMap<&str, Collected>,
    series: Series,
    threads: usize,
) {
    print_header(present);
    for workload in WORKLOADS {
        print_row(present, collected, series, workload.name, threads, true);
    }
}

fn print_header(present: &[(&Known, PathBuf)]) {
    let mut header = String::from("| workload | threads |");
    let mut rule = String::from("|---|---|");
    for (known, _) in present {
        header.push_str(&format!(" {} |", known.title));
        rule.push_str("---|");
    }
    println!("{header}\n{rule}");
}

fn print_row(
    present: &[(&Known, PathBuf)],
    collected: &BTreeMap<&str, Collected>,
    series: Series,
    workload: &str,
    threads: usize,
    medians: bool,
) {
    let key = (workload.to_string(), threads);
    let base = collected
        .get("sys")
        .and_then(|c| series(c).get(&key))
        .and_then(|v| median(v));
    let mut row = format!("| {workload} | {threads} |");
    for (known, _) in present {
        let cell = match collected.get(known.binary) {
            None => "–".to_string(),
            Some(c) => match withheld(c) {
                Some(reason) => reason,
                None => match series(c).get(&key) {
                    None => "–".to_string(),
                    Some(values) if medians => {
                        let value = median(values).unwrap_or(f64::NAN);
                        match base {
                            Some(base) if known.binary != "sys" => {
                                format!("{} ({:.2}×)", ns(value), value / base)
                            }
                            _ => ns(value),
                        }
                    }
                    Some(values) => {
                        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
                        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        format!("{}–{}", ns(low), ns(high))
                    }
                },
            },
        };
        row.push_str(&format!(" {cell} |"));
    }
    println!("{row}");
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

    #[test]
    fn a_walker_that_captured_nothing_gets_no_figure() {
        let mut collected = Collected::default();
        absorb(
            &mut collected,
            "META config=tier2 fp=yes contaminated=0\n\
             RESULT config=tier2 workload=pair64 threads=1 iters=10 ns_per_op=12.5 agg_ns_per_op=12.5 frames_per_event=0.00\n",
        );
        assert_eq!(
            collected.per_thread.get(&("pair64".to_string(), 1)),
            Some(&vec![12.5])
        );
        assert_eq!(collected.frame_pointers.as_deref(), Some("yes"));
        assert!(withheld(&collected).unwrap().contains("0 frames/event"));

        let mut walking = Collected::default();
        absorb(&mut walking, "RESULT config=tier2 workload=pair64 threads=1 ns_per_op=40 agg_ns_per_op=40 frames_per_event=9.5\n");
        assert_eq!(withheld(&walking), None);
    }

    #[test]
    fn a_contaminated_binary_gets_no_figure() {
        let mut collected = Collected::default();
        absorb(&mut collected, "META config=tier1 fp=yes contaminated=1\n");
        assert!(withheld(&collected).is_some());
    }
}
