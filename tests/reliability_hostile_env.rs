//! Hostile values of every environment variable the crate reads (today only
//! `MOD_ALLOC_BUCKETS`), given to a real process: empty, blank, non-numeric, hexadecimal,
//! exponent notation, negative, huge, padded, with control characters and not UTF-8. The
//! child must exit cleanly with the documented table size, and print at most one stderr line
//! about the value: one whole line, starting with `mod-alloc: MOD_ALLOC_BUCKETS=`, never a
//! panic.
#![cfg(all(feature = "backtraces", unix))]

mod common;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use mod_alloc::{ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const CHILD: &str = "MOD_ALLOC_HOSTILE_ENV_CHILD";

/// The child's body: start call-site profiling (which reads the variable) and report the
/// table size.
#[test]
#[ignore = "the child process of the other tests here, which run it"]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let first = Profiler::start();
    drop(std::hint::black_box(vec![0u8; 64]));
    let report = first.call_sites();
    drop(first);
    let _second = Profiler::start();
    println!("slots={} events={}", report.table_slots, report.events);
}

/// The child's events line: (table slots, events the first profiler counted).
fn parse_child(stdout: &str) -> Option<(u64, u64)> {
    let line = stdout.lines().find(|line| line.contains("slots="))?;
    let value = |key: &str| -> Option<u64> {
        line.split(key)
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some((value("slots=")?, value("events=")?))
}

/// Runs the child with `MOD_ALLOC_BUCKETS` set to `value`; returns the table size and the
/// stderr lines that mention the variable.
fn run(value: &[u8]) -> (u64, Vec<String>) {
    let output = common::child_test(&std::env::current_exe().unwrap(), "child")
        .env(CHILD, "1")
        .env("MOD_ALLOC_BUCKETS", OsString::from_vec(value.to_vec()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && !stderr.contains("panicked"),
        "child failed for {value:?}: {output:?}"
    );
    let (slots, _) =
        parse_child(&stdout).unwrap_or_else(|| panic!("no table size for {value:?}: {stdout}"));
    // Everything the crate printed about the variable: lines from `mod-alloc:` onwards, plus
    // any line that is not the test harness's own (a continuation would show up here).
    let lines = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect();
    (slots, lines)
}

fn assert_one_line(value: &[u8], lines: &[String], says: &str) {
    assert_eq!(lines.len(), 1, "{value:?}: {lines:?}");
    let line = &lines[0];
    assert!(
        line.starts_with("mod-alloc: MOD_ALLOC_BUCKETS="),
        "{value:?}: {line}"
    );
    assert!(line.contains(says), "{value:?}: {line}");
}

#[test]
fn unusable_values_warn_once_and_use_the_default() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let cases: &[(&[u8], &str)] = &[
        (b"", "is empty"),
        (b"   \t ", "is empty"),
        (b"abc", "is not a number"),
        (b"0x100", "is not a number"),
        (b"1e30", "is not a number"),
        (b"1.5", "is not a number"),
        (b"64 kB", "is not a number"),
        (b"-5", "is negative"),
        (b"-99999999999999999999999999999999", "is negative"),
        (b"--64", "is negative"),
        (b"\xff\xfe", "is not valid UTF-8"),
        (b"64\xff", "is not valid UTF-8"),
        (b"\x1b[31m64", "is not a number"),
    ];
    for &(value, says) in cases {
        let (slots, lines) = run(value);
        assert_eq!(slots, 4096, "{value:?}");
        assert_one_line(value, &lines, says);
        assert!(lines[0].ends_with("using 4096"), "{value:?}: {lines:?}");
    }
}

#[test]
fn out_of_range_values_are_clamped_with_one_line() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let cases: &[(&[u8], u64, &str)] = &[
        (b"0", 64, "below the minimum 64; using 64"),
        (b"1", 64, "below the minimum 64; using 64"),
        (
            b"1000000000000000000000000000000",
            1 << 20,
            "above the maximum 1048576; using 1048576",
        ),
        (
            b"18446744073709551616",
            1 << 20,
            "above the maximum 1048576; using 1048576",
        ),
        (
            b"4294967296",
            1 << 20,
            "above the maximum 1048576; using 1048576",
        ),
    ];
    for &(value, expected, says) in cases {
        let (slots, lines) = run(value);
        assert_eq!(slots, expected, "{value:?}");
        assert_one_line(value, &lines, says);
    }
}

#[test]
fn padded_and_signed_numbers_are_accepted_silently() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    for (value, expected) in [
        (&b"  64 "[..], 64),
        (b"\t100\n", 128),
        (b"+300", 512),
        (b"0000065", 128),
        (b"1048576", 1 << 20),
    ] {
        let (slots, lines) = run(value);
        assert_eq!(slots, expected, "{value:?}");
        assert!(lines.is_empty(), "{value:?}: {lines:?}");
    }
}

/// A value with an embedded line break is escaped in its warning, which stays one line.
#[test]
fn values_with_line_breaks_still_give_one_line() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    for value in [&b"6\n4"[..], b"abc\r\ndef", b"1\n-"] {
        let (slots, lines) = run(value);
        assert_eq!(slots, 4096, "{value:?}");
        assert_one_line(value, &lines, "MOD_ALLOC_BUCKETS");
    }
}

/// A warning that stderr refuses (here `/dev/full`, where every write fails) is dropped:
/// `eprintln!` would panic there, under the table's setup lock, and leave call-site capture
/// off for the rest of the process.
#[cfg(target_os = "linux")]
#[test]
fn a_warning_stderr_refuses_is_dropped() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let output = common::child_test(&std::env::current_exe().unwrap(), "child")
        .env(CHILD, "1")
        .env("MOD_ALLOC_BUCKETS", "abc")
        .stderr(full)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    let (slots, events) = parse_child(&stdout).unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(slots, 4096, "the default table");
    assert!(events >= 1, "the allocation was counted: {stdout}");
}
