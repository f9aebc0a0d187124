//! A heap profile of a stripped binary ends with dhat's lines and then one line saying why
//! its frames are raw addresses, instead of leaving the user to guess.
//!
//! The test copies its own executable, strips it with `strip --strip-all`, and runs the
//! copy's `child_profiles` in a child process; the same child run from the unstripped binary
//! must print no such line.
#![cfg(all(feature = "dhat-compat", target_os = "linux"))]

mod common;

use std::path::Path;
use std::process::Command;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const CHILD_ENV: &str = "MOD_ALLOC_STRIPPED_PROFILE_CHILD";
const NOTE_PREFIX: &str = "mod-alloc: no symbols for ";
/// The starts of dhat's stderr lines at the end of a heap profile, in order.
const DHAT_LINES: [&str; 4] = [
    "dhat: Total:",
    "dhat: At t-gmax:",
    "dhat: At t-end:",
    "dhat: The data has been saved to ",
];

#[inline(never)]
fn allocate() -> Vec<u8> {
    std::hint::black_box(vec![5u8; 300])
}

/// In the child: profile one allocation and stop, which prints dhat's summary.
#[test]
#[ignore = "the child process of the other tests here, which run it"]
fn child_profiles() {
    let Some(file) = std::env::var_os(CHILD_ENV) else {
        return; // only meaningful when run by `a_stripped_binary_says_why_frames_are_raw`
    };
    let profiler = dhat::Profiler::builder().file_name(file).build();
    let kept = allocate();
    drop(profiler);
    drop(kept);
}

/// Runs `binary`'s child test; returns its stderr lines from dhat's and this crate's output.
fn run_child(binary: &Path, json: &Path) -> Vec<String> {
    let output = common::child_test(binary, "child_profiles")
        .env(CHILD_ENV, json)
        .output()
        .expect("run child");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "child failed: {stderr}");
    stderr
        .lines()
        .filter(|line| line.starts_with("dhat: ") || line.starts_with("mod-alloc: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_stripped_binary_says_why_frames_are_raw() {
    let this_binary = std::env::current_exe().expect("current exe");
    let directory =
        std::env::temp_dir().join(format!("mod-alloc-stripped-dhat-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let json = directory.join("profile.json");

    let named = run_child(&this_binary, &json);
    assert!(
        named.iter().all(|line| !line.starts_with(NOTE_PREFIX)),
        "unstripped: {named:#?}"
    );
    assert_eq!(named.len(), 4, "dhat's four lines: {named:#?}");
    for (line, prefix) in named.iter().zip(DHAT_LINES) {
        assert!(line.starts_with(prefix), "unstripped: {named:#?}");
    }

    let stripped = directory.join("stripped-dhat-binary");
    std::fs::copy(&this_binary, &stripped).expect("copy test binary");
    match Command::new("strip")
        .arg("--strip-all")
        .arg(&stripped)
        .status()
    {
        Ok(status) if status.success() => {}
        other => panic!("`strip --strip-all` failed ({other:?}); binutils is needed for this test"),
    }
    let raw = run_child(&stripped, &json);
    let profile = std::fs::read_to_string(&json).expect("the profile was written");
    let _ = std::fs::remove_dir_all(&directory);

    // dhat's four lines first, then exactly one note, for the stripped binary.
    assert_eq!(raw.len(), 5, "stripped: {raw:#?}");
    for (line, prefix) in raw.iter().zip(DHAT_LINES) {
        assert!(line.starts_with(prefix), "stripped: {raw:#?}");
    }
    assert!(
        raw[4].starts_with(NOTE_PREFIX) && raw[4].contains("stripped-dhat-binary"),
        "stripped: {raw:#?}"
    );
    assert!(profile.contains("???"), "raw frames expected: {profile}");
}
