//! `MOD_ALLOC_BUCKETS` read by a real process: a bad value gives one stderr line however many
//! profilers start, and the table gets the documented capacity.
#![cfg(feature = "backtraces")]

mod common;

use mod_alloc::{ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const CHILD: &str = "MOD_ALLOC_SITES_TEST_CHILD";

/// Runs this test binary's `child` test with `MOD_ALLOC_BUCKETS` set to `value`; returns
/// (stdout, stderr).
fn run_child(value: &str) -> (String, String) {
    let output = common::child_test(&std::env::current_exe().unwrap(), "child")
        .env(CHILD, "1")
        .env("MOD_ALLOC_BUCKETS", value)
        .output()
        .unwrap();
    assert!(output.status.success(), "child failed: {output:?}");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn slots_reported(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find_map(|l| l.split("slots=").nth(1))
        .expect("the child prints its table size");
    line.trim().parse().unwrap()
}

/// Not a test on its own: the body of the child process started by the tests below.
#[test]
#[ignore = "the child process of the other tests here, which run it"]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    // Three windows, two of them overlapping: the variable is read once.
    let first = Profiler::start();
    let second = Profiler::start();
    drop(first);
    drop(second);
    let third = Profiler::start();
    println!("slots={}", third.call_sites().table_slots);
}

#[test]
fn invalid_value_warns_once_and_uses_the_default() {
    let (stdout, stderr) = run_child("abc");
    let warnings: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains("MOD_ALLOC_BUCKETS"))
        .collect();
    assert_eq!(
        warnings,
        ["mod-alloc: MOD_ALLOC_BUCKETS=abc is not a number; expected a number in [64, 1048576]; using 4096"]
    );
    assert_eq!(slots_reported(&stdout), 4096);
}

#[test]
fn valid_value_is_rounded_up_silently() {
    let (stdout, stderr) = run_child("100");
    assert!(!stderr.contains("MOD_ALLOC_BUCKETS"), "{stderr}");
    assert_eq!(slots_reported(&stdout), 128);
}

#[test]
fn too_large_value_is_clamped_with_one_note() {
    let (stdout, stderr) = run_child("1048577");
    assert_eq!(stderr.matches("MOD_ALLOC_BUCKETS").count(), 1, "{stderr}");
    assert!(stderr.contains("is above the maximum 1048576; using 1048576"));
    assert_eq!(slots_reported(&stdout), 1 << 20);
}
