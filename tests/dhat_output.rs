//! What a profiler prints and writes, and when: each scenario runs in a child process (this
//! test binary re-run with `MOD_ALLOC_DHAT_SCENARIO` set) whose stderr and working directory
//! the parent inspects.
#![cfg(feature = "dhat-compat")]

use std::path::{Path, PathBuf};
use std::process::Command;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const SCENARIO: &str = "MOD_ALLOC_DHAT_SCENARIO";
const TEST_NAME: &str = "output_scenarios";

/// The body of each child process.
fn run_scenario(name: &str) {
    let work = || {
        let v: Vec<u64> = (0..100).collect();
        let s = format!("{v:?}");
        drop(v);
        s
    };
    match name {
        "heap-default" => {
            let _profiler = dhat::Profiler::new_heap();
            let _kept = work();
        }
        "ad-hoc-default" => {
            let _profiler = dhat::Profiler::new_ad_hoc();
            dhat::ad_hoc_event(1_000_000);
            dhat::ad_hoc_event(2);
        }
        "unwritable" => {
            let path = std::env::current_dir()
                .unwrap()
                .join("no-such-dir")
                .join("x.json");
            let _profiler = dhat::Profiler::builder().file_name(path).build();
        }
        "file-eprint" => {
            let _profiler = dhat::Profiler::builder()
                .file_name("out.json")
                .eprint_json()
                .build();
            let _kept = work();
        }
        "memory-eprint" => {
            let mut profiler =
                std::mem::ManuallyDrop::new(dhat::Profiler::builder().eprint_json().build());
            let json = profiler.drop_and_get_memory_output();
            std::fs::write("returned.json", json).unwrap();
        }
        "testing-pass" => {
            let _profiler = dhat::Profiler::builder().testing().build();
            dhat::assert!(true);
            dhat::assert_eq!(1, 1);
        }
        "testing-fail" => {
            let _profiler = dhat::Profiler::builder()
                .testing()
                .file_name("failed.json")
                .build();
            let caught = std::panic::catch_unwind(|| dhat::assert!(false));
            assert!(caught.is_err());
            eprintln!("after the assertion");
        }
        "relative-at-write" => {
            let _profiler = dhat::Profiler::builder().file_name("late.json").build();
            std::fs::create_dir("later").unwrap();
            std::env::set_current_dir("later").unwrap();
        }
        "panic-unwinds" => {
            let caught = std::panic::catch_unwind(|| {
                let _profiler = dhat::Profiler::builder().file_name("unwound.json").build();
                panic!("user panic");
            });
            assert!(caught.is_err());
        }
        other => panic!("unknown scenario {other}"),
    }
}

struct Outcome {
    dir: PathBuf,
    /// Lines of stderr that start with `dhat: `, plus our own markers.
    lines: Vec<String>,
    stderr: String,
}

/// A fresh, empty working directory for the child running `name`.
fn child_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mod-alloc-dhat-output-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn child_command(name: &str, dir: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(SCENARIO, name)
        .current_dir(dir);
    command
}

fn run_child(name: &str) -> Outcome {
    let dir = child_dir(name);
    let output = child_command(name, &dir).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "scenario {name} failed:\n{stderr}");
    let lines = stderr
        .lines()
        .filter(|line| line.starts_with("dhat: ") || line.starts_with("after the assertion"))
        .map(str::to_owned)
        .collect();
    Outcome { dir, lines, stderr }
}

/// `dhat: Total:     1,234 bytes in 5 blocks` → the two numbers, checking the grouping.
fn numbers(line: &str, prefix: &str, unit: &str, count_unit: &str) -> (u128, u128) {
    let rest = line
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{line:?} lacks {prefix:?}"));
    let (amount, rest) = rest.split_once(&format!(" {unit} in ")).unwrap();
    let count = rest.strip_suffix(&format!(" {count_unit}")).unwrap();
    let parse = |text: &str| {
        let groups: Vec<&str> = text.split(',').collect();
        assert!(groups[0].len() <= 3 && !groups[0].is_empty(), "{text}");
        assert!(groups[1..].iter().all(|g| g.len() == 3), "{text}");
        groups.concat().parse::<u128>().unwrap()
    };
    (parse(amount), parse(count))
}

fn check_heap_summary(lines: &[String]) {
    numbers(&lines[0], "dhat: Total:     ", "bytes", "blocks");
    numbers(&lines[1], "dhat: At t-gmax: ", "bytes", "blocks");
    numbers(&lines[2], "dhat: At t-end:  ", "bytes", "blocks");
}

/// The summary's figures are the file's sums: Total of `tb`/`tbk`, At t-gmax of `gb`/`gbk`
/// (one thread, so exactly the peak) and At t-end of `eb`/`ebk`.
fn check_heap_summary_against_file(lines: &[String], json: &serde_json::Value) {
    let sum = |key: &str| -> u128 {
        let pps = json["pps"].as_array().unwrap();
        pps.iter()
            .map(|pp| u128::from(pp[key].as_u64().unwrap()))
            .sum()
    };
    let expected = [
        ("dhat: Total:     ", "tb", "tbk"),
        ("dhat: At t-gmax: ", "gb", "gbk"),
        ("dhat: At t-end:  ", "eb", "ebk"),
    ];
    for (line, (prefix, bytes, blocks)) in lines.iter().zip(expected) {
        assert_eq!(
            numbers(line, prefix, "bytes", "blocks"),
            (sum(bytes), sum(blocks)),
            "{line}"
        );
    }
}

fn read_json(path: &Path) -> (String, serde_json::Value) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

/// The file layout: one item per line, nothing indented, no trailing newline.
fn check_file_layout(text: &str) {
    assert!(text.starts_with("{\n\"dhatFileVersion\": 2,\n"));
    assert!(text.ends_with("\n}"));
    assert!(text.lines().all(|line| !line.starts_with(' ')));
}

#[test]
fn output_scenarios() {
    if let Ok(name) = std::env::var(SCENARIO) {
        run_scenario(&name);
        return;
    }

    // A heap profiler writes dhat-heap.json in the working directory at drop.
    let out = run_child("heap-default");
    assert_eq!(out.lines.len(), 4, "{}", out.stderr);
    check_heap_summary(&out.lines);
    assert_eq!(
        out.lines[3],
        "dhat: The data has been saved to dhat-heap.json, and is viewable with dhat/dh_view.html"
    );
    let (text, json) = read_json(&out.dir.join("dhat-heap.json"));
    check_file_layout(&text);
    assert_eq!(json["mode"], "rust-heap");
    check_heap_summary_against_file(&out.lines, &json);
    assert!(json["cmd"].as_str().unwrap().contains("dhat_output"));

    // Ad hoc: one summary line in units and events, and dhat-ad-hoc.json.
    let out = run_child("ad-hoc-default");
    assert_eq!(out.lines.len(), 2, "{}", out.stderr);
    numbers(&out.lines[0], "dhat: Total:     ", "units", "events");
    assert_eq!(
        out.lines[1],
        "dhat: The data has been saved to dhat-ad-hoc.json, and is viewable with dhat/dh_view.html"
    );
    let (text, json) = read_json(&out.dir.join("dhat-ad-hoc.json"));
    check_file_layout(&text);
    assert_eq!(json["mode"], "rust-ad-hoc");

    // A path that cannot be created: one error line, no panic.
    let out = run_child("unwritable");
    let path = out.dir.join("no-such-dir").join("x.json");
    let expected = format!(
        "dhat: error: Writing to {} failed: ",
        path.to_string_lossy()
    );
    assert!(out.lines[3].starts_with(&expected), "{}", out.lines[3]);
    #[cfg(unix)]
    assert!(out.lines[3].ends_with("No such file or directory (os error 2)"));

    // eprint_json after the save line; the printed JSON is the file re-indented.
    let out = run_child("file-eprint");
    assert_eq!(
        out.lines[3],
        "dhat: The data has been saved to out.json, and is viewable with dhat/dh_view.html"
    );
    let (text, _) = read_json(&out.dir.join("out.json"));
    let printed = out.stderr.split("dhat: json = `").nth(1).unwrap();
    let printed = &printed[..printed.rfind('`').unwrap()];
    assert!(printed.starts_with("{\n  \"dhatFileVersion\": 2,"));
    let reindented: Vec<&str> = printed.lines().map(str::trim_start).collect();
    assert_eq!(reindented.join("\n"), text);

    // Memory output with eprint_json: memory line, then the same JSON that was returned.
    let out = run_child("memory-eprint");
    assert_eq!(
        out.lines[3],
        "dhat: The data has been saved to the memory buffer"
    );
    assert!(out.lines[4].starts_with("dhat: json = `{"));
    let returned = std::fs::read_to_string(out.dir.join("returned.json")).unwrap();
    assert!(out.stderr.contains(&format!("dhat: json = `{returned}`")));
    assert!(!out.dir.join("dhat-heap.json").exists());

    // Testing mode, all assertions pass: nothing printed, nothing written.
    let out = run_child("testing-pass");
    assert!(out.lines.is_empty(), "{}", out.stderr);
    assert_eq!(std::fs::read_dir(&out.dir).unwrap().count(), 0);

    // Testing mode, a failing assertion: summary and file first, then the panic message.
    let out = run_child("testing-fail");
    check_heap_summary(&out.lines);
    assert_eq!(
        out.lines[3],
        "dhat: The data has been saved to failed.json, and is viewable with dhat/dh_view.html"
    );
    // The panic hook prints the message on its own line after the output.
    assert_eq!(out.lines[4], "dhat: assertion failed: false");
    assert_eq!(out.lines[5], "after the assertion");
    read_json(&out.dir.join("failed.json"));

    // A relative path is resolved when the file is written, not when it is given.
    let out = run_child("relative-at-write");
    assert!(
        out.dir.join("later").join("late.json").exists(),
        "{}",
        out.stderr
    );
    assert!(!out.dir.join("late.json").exists());

    // A panic unwinding through the profiler still writes the file.
    let out = run_child("panic-unwinds");
    assert!(out.dir.join("unwound.json").exists(), "{}", out.stderr);

    // With a stderr that refuses every write (`/dev/full`), the summary lines are lost but
    // the file is written and nothing panics: `eprintln!` would panic in the drop, before
    // the file, and abort a process that is already unwinding.
    #[cfg(target_os = "linux")]
    for (name, file) in [
        ("heap-default", "dhat-heap.json"),
        ("panic-unwinds", "unwound.json"),
    ] {
        let dir = child_dir(&format!("{name}-stderr-full"));
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let status = child_command(name, &dir).stderr(full).status().unwrap();
        assert!(status.success(), "{name} with stderr full: {status}");
        read_json(&dir.join(file));
        let _ = std::fs::remove_dir_all(&dir);
    }

    for name in [
        "heap-default",
        "ad-hoc-default",
        "unwritable",
        "file-eprint",
        "memory-eprint",
        "testing-pass",
        "testing-fail",
        "relative-at-write",
        "panic-unwinds",
    ] {
        let dir = std::env::temp_dir().join(format!(
            "mod-alloc-dhat-output-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(dir);
    }
}
