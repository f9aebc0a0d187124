//! Running one scenario binary and reducing what it did to an
//! [`Observation`].
//!
//! Each run gets an empty working directory, so the files a scenario writes
//! (default names, custom names, nested paths) are exactly the directory's
//! contents afterwards. Captured stdout and stderr go to files beside that
//! directory, never inside it, because scenarios list their directory.
//!
//! Stderr is normalised before comparison: the thread id that newer std
//! prints after a thread's name, and the location of panics raised inside
//! the library (dhat's `src/lib.rs` versus our module) are removed, while
//! panic locations in the scenario itself, and every `dhat:` line, are kept
//! verbatim. Each ``dhat: json = `…` `` block is cut out and treated as one
//! more JSON document.

use crate::dhat_json::{self, Facts, HEAP_NUMBERS, ORDER_FREE_NUMBERS};
use crate::scenario::Scenario;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The summary dhat prints when a profiler finishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The file name as printed, `<memory>` for memory output, or
    /// `<unwritable> name` when writing failed.
    pub target: String,
    /// (bytes or units, blocks or events) for Total, At t-gmax, At t-end.
    pub total: (u64, u64),
    pub at_gmax: Option<(u64, u64)>,
    pub at_end: Option<(u64, u64)>,
}

/// One JSON document a run produced.
#[derive(Debug, Clone)]
pub struct Document {
    /// Where it is on disk (for the viewer), if it is a file.
    pub path: Option<PathBuf>,
    pub facts: Result<Facts, String>,
}

/// Everything compared about one run.
#[derive(Debug, Clone)]
pub struct Observation {
    pub exit: String,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
    pub files: Vec<String>,
    pub documents: BTreeMap<String, Document>,
    /// Broken invariants, each prefixed with the document it concerns.
    pub invariants: Vec<String>,
}

/// Runs `binary` for `scenario` with `work_dir` (created empty) as CWD.
pub fn run(binary: &Path, scenario: &Scenario, work_dir: &Path) -> Result<Observation, String> {
    if work_dir.exists() {
        fs::remove_dir_all(work_dir)
            .map_err(|e| format!("cannot clear {}: {e}", work_dir.display()))?;
    }
    fs::create_dir_all(work_dir)
        .map_err(|e| format!("cannot create {}: {e}", work_dir.display()))?;
    let stdout_path = work_dir.with_extension("stdout");
    let stderr_path = work_dir.with_extension("stderr");
    let stdout_file = fs::File::create(&stdout_path).map_err(|e| e.to_string())?;
    let stderr_file = fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
    let mut command = Command::new(binary);
    if scenario.libtest {
        command.arg("--test-threads=1");
    }
    let mut child = command
        .current_dir(work_dir)
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUST_LIB_BACKTRACE")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(stdout_file)
        .stderr(stderr_file)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let started = Instant::now();
    let exit = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break match status.code() {
                Some(code) => format!("exit {code}"),
                None => describe_signal(&status),
            };
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break format!("timed out after {}s", RUN_TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
    Ok(observe(scenario, exit, &stdout, &stderr, work_dir))
}

#[cfg(unix)]
fn describe_signal(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    format!("signal {}", status.signal().unwrap_or(0))
}

#[cfg(not(unix))]
fn describe_signal(_status: &std::process::ExitStatus) -> String {
    "no exit code".to_string()
}

fn observe(
    scenario: &Scenario,
    exit: String,
    stdout: &str,
    stderr: &str,
    work_dir: &Path,
) -> Observation {
    let user_files = vec![
        format!("scenarios/{}.rs", scenario.name),
        // Code that scenarios share, such as the body of `debug_frames`.
        "scenarios/common/".to_string(),
    ];
    let number_keys: &[&str] = if scenario.order_independent {
        &ORDER_FREE_NUMBERS
    } else {
        &HEAP_NUMBERS
    };
    let (stderr_lines, eprinted) = normalise_stderr(stderr, scenario.order_independent);
    let summaries = parse_summaries(stderr);

    let mut documents = BTreeMap::new();
    for (index, text) in eprinted.iter().enumerate() {
        documents.insert(
            format!("<eprint_json #{}>", index + 1),
            Document {
                path: None,
                facts: dhat_json::extract(text, &user_files, number_keys),
            },
        );
    }
    let mut files = Vec::new();
    collect_files(work_dir, work_dir, &mut files);
    files.sort();
    for name in &files {
        let path = work_dir.join(name);
        let facts = match fs::read_to_string(&path) {
            Ok(text) if text.is_empty() => Err("empty file".to_string()),
            Ok(text) => dhat_json::extract(&text, &user_files, number_keys),
            Err(e) => Err(format!("unreadable: {e}")),
        };
        documents.insert(
            name.clone(),
            Document {
                path: Some(path),
                facts,
            },
        );
    }

    let mut invariants = Vec::new();
    for (name, document) in &documents {
        let Ok(facts) = &document.facts else { continue };
        invariants.extend(facts.invariants.iter().map(|i| format!("{name}: {i}")));
        if let Some(summary) = summary_for(name, &summaries, work_dir) {
            for problem in check_sums(facts, summary, scenario.order_independent) {
                invariants.push(format!("{name}: {problem}"));
            }
        }
    }
    let stdout = if scenario.libtest {
        normalise_libtest_stdout(stdout)
    } else {
        stdout.lines().map(str::to_string).collect()
    };
    Observation {
        exit,
        stdout,
        stderr: stderr_lines,
        files,
        documents,
        invariants,
    }
}

fn collect_files(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(base, &path, out);
        } else if let Ok(relative) = path.strip_prefix(base) {
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The summary printed for a document: for a file, the last summary whose
/// target names the same file; for the k-th eprinted document, the k-th
/// summary followed by an eprint (eprint_json always follows its summary).
fn summary_for<'a>(name: &str, summaries: &'a [Summary], work_dir: &Path) -> Option<&'a Summary> {
    if let Some(number) = name
        .strip_prefix("<eprint_json #")
        .and_then(|n| n.strip_suffix('>'))
    {
        let index: usize = number.parse().ok()?;
        return summaries
            .iter()
            .filter(|s| s.target.starts_with("<eprint>"))
            .nth(index - 1);
    }
    let wanted = fs::canonicalize(work_dir.join(name)).ok()?;
    summaries.iter().rev().find(|s| {
        let target = s.target.trim_start_matches("<eprint>");
        fs::canonicalize(work_dir.join(target)).ok().as_ref() == Some(&wanted)
    })
}

fn check_sums(facts: &Facts, summary: &Summary, order_independent: bool) -> Vec<String> {
    let sum = |key: &str| facts.sums.get(key).copied().unwrap_or(0);
    let mut expected = vec![("tb", summary.total.0), ("tbk", summary.total.1)];
    if facts.is_heap {
        if let Some((bytes, blocks)) = summary.at_end {
            expected.push(("eb", bytes));
            expected.push(("ebk", blocks));
        }
        if let (Some((bytes, blocks)), false) = (summary.at_gmax, order_independent) {
            expected.push(("gb", bytes));
            expected.push(("gbk", blocks));
        }
    }
    expected
        .into_iter()
        .filter(|(key, value)| sum(key) != *value)
        .map(|(key, value)| format!("sum of {key} is {} but the summary says {value}", sum(key)))
        .collect()
}

/// Normalised stderr lines, and the text of each eprint_json block.
pub fn normalise_stderr(stderr: &str, order_independent: bool) -> (Vec<String>, Vec<String>) {
    let mut lines = Vec::new();
    let mut eprinted = Vec::new();
    let mut block: Option<String> = None;
    for line in stderr.lines() {
        if let Some(text) = block.as_mut() {
            text.push('\n');
            text.push_str(line);
            if line.ends_with('`') {
                let json = text.trim_end_matches('`').to_string();
                eprinted.push(json);
                lines.push(format!("dhat: json = <document {}>", eprinted.len()));
                block = None;
            }
            continue;
        }
        if let Some(start) = line.strip_prefix("dhat: json = `") {
            if start.ends_with('`') {
                eprinted.push(start.trim_end_matches('`').to_string());
                lines.push(format!("dhat: json = <document {}>", eprinted.len()));
            } else {
                block = Some(start.to_string());
            }
            continue;
        }
        lines.push(normalise_line(line, order_independent));
    }
    if let Some(text) = block {
        eprinted.push(text);
        lines.push("dhat: json = <unterminated>".to_string());
    }
    (lines, eprinted)
}

/// Stdout of a `libtest` scenario: the run's duration on libtest's result
/// line is removed, and the panic lines in a failing test's captured output
/// are normalised as on stderr.
fn normalise_libtest_stdout(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|line| match line.split_once("; finished in ") {
            Some((result, _)) if line.starts_with("test result: ") => {
                format!("{result}; finished in <time>")
            }
            _ => normalise_line(line, false),
        })
        .collect()
}

fn normalise_line(line: &str, order_independent: bool) -> String {
    if order_independent && line.starts_with("dhat: At t-gmax:") {
        return "dhat: At t-gmax: <depends on thread order>".to_string();
    }
    let Some(rest) = line.strip_prefix("thread '") else {
        return line.to_string();
    };
    let Some((name, after)) = rest.split_once('\'') else {
        return line.to_string();
    };
    // Newer std prints "thread 'main' (1234) panicked at …".
    let after = match after.strip_prefix(" (") {
        Some(id_and_rest) => id_and_rest.split_once(')').map(|(_, r)| r).unwrap_or(after),
        None => after,
    };
    let Some(location) = after
        .strip_prefix(" panicked at ")
        .and_then(|l| l.strip_suffix(':'))
    else {
        return line.to_string();
    };
    let location = location.replace('\\', "/");
    let shown = match location.find("scenarios/") {
        Some(at) => location[at..].to_string(),
        None => "<library code>".to_string(),
    };
    format!("thread '{name}' panicked at {shown}:")
}

fn parse_pair(text: &str) -> Option<(u64, u64)> {
    // "1,234 bytes in 5 blocks" or "118 units in 11 events"
    let mut words = text.split_whitespace();
    let first = words.next()?.replace(',', "").parse().ok()?;
    let _unit = words.next()?;
    if words.next()? != "in" {
        return None;
    }
    let second = words.next()?.replace(',', "").parse().ok()?;
    Some((first, second))
}

fn parse_summaries(stderr: &str) -> Vec<Summary> {
    let mut summaries = Vec::new();
    let mut current: Option<Summary> = None;
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("dhat: Total:") {
            current = parse_pair(rest).map(|total| Summary {
                target: String::new(),
                total,
                at_gmax: None,
                at_end: None,
            });
        } else if let (Some(rest), Some(s)) =
            (line.strip_prefix("dhat: At t-gmax:"), current.as_mut())
        {
            s.at_gmax = parse_pair(rest);
        } else if let (Some(rest), Some(s)) =
            (line.strip_prefix("dhat: At t-end:"), current.as_mut())
        {
            s.at_end = parse_pair(rest);
        } else if let Some(rest) = line.strip_prefix("dhat: The data has been saved to ") {
            if let Some(mut s) = current.take() {
                s.target = match rest.strip_suffix(", and is viewable with dhat/dh_view.html") {
                    Some(file) => file.to_string(),
                    None => "<memory>".to_string(),
                };
                summaries.push(s);
            }
        } else if let Some(rest) = line.strip_prefix("dhat: error: Writing to ") {
            if let Some(mut s) = current.take() {
                s.target = format!(
                    "<unwritable> {}",
                    rest.split(" failed:").next().unwrap_or(rest)
                );
                summaries.push(s);
            }
        } else if line.starts_with("dhat: json = `") {
            if let Some(last) = summaries.last_mut() {
                last.target = format!("<eprint>{}", last.target);
            }
        }
    }
    summaries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_panic_locations_and_thread_ids() {
        let stderr = "thread 'main' (1234) panicked at /x/compat-tests/with-dhat/../scenarios/a.rs:5:9:\n\
                      thread '<unnamed>' panicked at /opt/u/.cargo/registry/src/i/dhat-0.3.3/src/lib.rs:1:1:\n\
                      dhat: Total:     1,024 bytes in 2 blocks";
        let (lines, _) = normalise_stderr(stderr, false);
        assert_eq!(
            lines,
            [
                "thread 'main' panicked at scenarios/a.rs:5:9:",
                "thread '<unnamed>' panicked at <library code>:",
                "dhat: Total:     1,024 bytes in 2 blocks",
            ]
        );
    }

    #[test]
    fn normalises_libtest_stdout() {
        let stdout = "test a ... ok\n---- b stdout ----\nthread 'b' (77) panicked at compat-tests/scenarios/x.rs:3:5:\n\
                      test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n";
        assert_eq!(
            normalise_libtest_stdout(stdout),
            [
                "test a ... ok",
                "---- b stdout ----",
                "thread 'b' panicked at scenarios/x.rs:3:5:",
                "test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in <time>",
            ]
        );
    }

    #[test]
    fn cuts_out_eprinted_json() {
        let stderr =
            "dhat: The data has been saved to a.json, and is viewable with dhat/dh_view.html\n\
                      dhat: json = `{\n  \"a\": 1\n}`\nafter";
        let (lines, documents) = normalise_stderr(stderr, false);
        assert_eq!(lines[1], "dhat: json = <document 1>");
        assert_eq!(lines[2], "after");
        assert_eq!(documents, ["{\n  \"a\": 1\n}"]);
    }

    #[test]
    fn hides_the_peak_line_only_when_order_independent() {
        let line = "dhat: At t-gmax: 5 bytes in 1 blocks";
        assert_eq!(normalise_stderr(line, false).0, [line]);
        assert_ne!(normalise_stderr(line, true).0, [line]);
    }

    #[test]
    fn parses_summaries_with_their_targets() {
        let stderr = "dhat: Total:     1,601,024 bytes in 200,001 blocks\n\
                      dhat: At t-gmax: 140 bytes in 2 blocks\n\
                      dhat: At t-end:  84 bytes in 2 blocks\n\
                      dhat: error: Writing to /no/x.json failed: No such file or directory (os error 2)\n\
                      dhat: Total:     118 units in 11 events\n\
                      dhat: The data has been saved to the memory buffer";
        let summaries = parse_summaries(stderr);
        assert_eq!(summaries.len(), 2);
        assert_eq!(summaries[0].total, (1_601_024, 200_001));
        assert_eq!(summaries[0].at_gmax, Some((140, 2)));
        assert_eq!(summaries[0].at_end, Some((84, 2)));
        assert_eq!(summaries[0].target, "<unwritable> /no/x.json");
        assert_eq!(summaries[1].total, (118, 11));
        assert_eq!(summaries[1].at_gmax, None);
        assert_eq!(summaries[1].target, "<memory>");
    }

    #[test]
    fn checks_file_sums_against_the_printed_summary() {
        let dir = std::env::temp_dir().join(format!("compat-observe-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let document = "{\"dhatFileVersion\": 2, \"mode\": \"rust-heap\", \"bklt\": true, \"te\": 1, \"tg\": 0,\n\
                        \"pps\": [{\"tb\": 10, \"tbk\": 1, \"mb\": 10, \"mbk\": 1, \"gb\": 10, \"gbk\": 1, \"eb\": 0, \"ebk\": 0, \"fs\": [1]}],\n\
                        \"ftbl\": [\"[root]\", \"0x1: f (x.rs:1:1)\"]}";
        fs::write(dir.join("a.json"), document).unwrap();
        let scenario = Scenario {
            name: "s".into(),
            expected_exit: 0,
            order_independent: false,
            expects_dhat_duplicates: false,
            expects_dhat_repeated_fs: false,
            profile: crate::scenario::Profile::Release,
            libtest: false,
        };
        let stderr = |total: u64| {
            format!(
                "dhat: Total:     {total} bytes in 1 blocks\ndhat: At t-gmax: 10 bytes in 1 blocks\n\
                 dhat: At t-end:  0 bytes in 0 blocks\n\
                 dhat: The data has been saved to a.json, and is viewable with dhat/dh_view.html"
            )
        };
        let good = observe(&scenario, "exit 0".into(), "", &stderr(10), &dir);
        let bad = observe(&scenario, "exit 0".into(), "", &stderr(11), &dir);
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(good.invariants, Vec::<String>::new());
        assert_eq!(bad.invariants.len(), 1, "{:?}", bad.invariants);
        assert!(bad.invariants[0].contains("sum of tb is 10"));
    }
}
