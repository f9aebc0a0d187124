//! A heap profile in a build that may lack frame pointers: its summary ends with one line
//! that says so and how to fix it, exactly when the walker's self-test finds them missing.
//!
//! `scripts/reliability.sh` builds this file twice: with `-C force-frame-pointers=no` and
//! `MOD_ALLOC_EXPECT_FRAME_POINTERS=missing`, and with `=yes` and `=present`; the test steps
//! run it with `=present`. With the variable unset it checks only that the line appears at
//! most once.
#![cfg(feature = "dhat-compat")]

use std::process::Command;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const CHILD: &str = "MOD_ALLOC_DHAT_NO_FP_CHILD";
const NOTE: &str = "mod-alloc: frame pointers look missing from this build";

#[inline(never)]
fn allocate(depth: usize) -> Vec<u8> {
    if depth == 0 {
        return std::hint::black_box(vec![1u8; 100]);
    }
    std::hint::black_box(allocate(depth - 1))
}

#[test]
fn the_summary_says_when_frame_pointers_are_missing() {
    if std::env::var_os(CHILD).is_some() {
        let mut profiler = std::mem::ManuallyDrop::new(dhat::Profiler::builder().build());
        drop(allocate(5));
        let json = profiler.drop_and_get_memory_output();
        assert!(json.contains("\"pps\""));
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_summary_says_when_frame_pointers_are_missing",
        ])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let notes: Vec<&str> = stderr.lines().filter(|l| l.starts_with(NOTE)).collect();
    match std::env::var("MOD_ALLOC_EXPECT_FRAME_POINTERS").as_deref() {
        Ok("missing") => {
            assert_eq!(notes.len(), 1, "{stderr}");
            assert!(
                notes[0].contains("force-frame-pointers=yes"),
                "{}",
                notes[0]
            );
            // After dhat's own lines, which stay as dhat prints them.
            let lines: Vec<&str> = stderr.lines().collect();
            let last_dhat = lines.iter().rposition(|l| l.starts_with("dhat: "));
            let note_at = lines.iter().position(|l| l.starts_with(NOTE));
            assert!(last_dhat < note_at, "{stderr}");
        }
        Ok("present") => assert!(notes.is_empty(), "{stderr}"),
        _ => assert!(notes.len() <= 1, "{stderr}"),
    }
}
