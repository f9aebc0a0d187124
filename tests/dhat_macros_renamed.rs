//! The assertion macros under another name: `MIGRATING_FROM_DHAT.md` promises that
//! `use mod_alloc::dhat_compat as heap_check;` and `heap_check::assert!(…)` work, because the
//! expansions reach everything through `$crate`. This file never names `dhat`: an expansion
//! that assumed the module was imported as `dhat` would not compile here.
//!
//! One process; the checks run in order in one test, each failing assertion with a fresh
//! testing-mode profiler (after a failure the profiler refuses further assertions).
#![cfg(feature = "dhat-compat")]

use std::path::{Path, PathBuf};

use mod_alloc::dhat_compat as heap_check;

#[global_allocator]
static ALLOC: heap_check::Alloc = heap_check::Alloc;

/// Where the testing-mode profilers write when an assertion fails.
fn output_path() -> PathBuf {
    std::env::temp_dir().join(format!(
        "mod-alloc-dhat-macros-renamed-{}.json",
        std::process::id()
    ))
}

fn testing_profiler(path: &Path) -> heap_check::Profiler {
    heap_check::Profiler::builder()
        .testing()
        .file_name(path)
        .build()
}

/// Runs `failing` under a fresh testing-mode profiler, expects exactly `message` as its panic,
/// and checks that the failure wrote the profile (so the assertion went through the
/// profiler, not through a plain `std` assertion).
fn expect_failure(path: &Path, failing: impl FnOnce() + std::panic::UnwindSafe, message: &str) {
    let _ = std::fs::remove_file(path);
    let profiler = testing_profiler(path);
    heap_check::assert_is_panic(failing, message);
    let written = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("a failed assertion writes {}: {e}", path.display()));
    let profile: serde_json::Value = serde_json::from_str(&written).expect("valid JSON");
    assert_eq!(profile["mode"], "rust-heap");
    drop(profiler);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn assertion_macros_work_under_another_module_name() {
    let path = output_path();
    let _ = std::fs::remove_file(&path);

    // Every passing form, with and without a message (and `assert_eq!`'s trailing comma).
    {
        let _profiler = testing_profiler(&path);
        let kept = std::hint::black_box(vec![5u8; 64]);
        let stats = heap_check::HeapStats::get();
        let x = std::hint::black_box(3);
        heap_check::assert!(stats.curr_bytes >= kept.len());
        heap_check::assert!(x == 3, "x was {}", x);
        heap_check::assert_eq!(x, 3);
        heap_check::assert_eq!(x, 3,);
        heap_check::assert_eq!(x, 3, "x was {x}");
        heap_check::assert_ne!(x, 4);
        heap_check::assert_ne!(x, 4, "x was {}", x);
        drop(kept);
    }
    assert!(
        !path.exists(),
        "passing assertions and a testing-mode drop write nothing"
    );

    // Every form failing, each with dhat's exact message.
    let x = std::hint::black_box(3);
    expect_failure(
        &path,
        || heap_check::assert!(1 + 1 == 3),
        "dhat: assertion failed: 1 + 1 == 3",
    );
    expect_failure(
        &path,
        move || heap_check::assert!(x > 5, "x is {} here", x),
        "dhat: assertion failed: x > 5: x is 3 here",
    );
    expect_failure(
        &path,
        move || heap_check::assert_eq!(x, 4),
        "dhat: assertion failed: `(left == right)`\n  left: `3`,\n right: `4`",
    );
    expect_failure(
        &path,
        move || heap_check::assert_eq!(x, 4, "custom {}", "message"),
        "dhat: assertion failed: `(left == right)`\n  left: `3`,\n right: `4`: custom message",
    );
    expect_failure(
        &path,
        move || heap_check::assert_ne!(x, 3),
        "dhat: assertion failed: `(left != right)`\n  left: `3`,\n right: `3`",
    );
    expect_failure(
        &path,
        move || heap_check::assert_ne!(x, 3, "{x} twice"),
        "dhat: assertion failed: `(left != right)`\n  left: `3`,\n right: `3`: 3 twice",
    );

    // The passing forms really consult the profiler: after a failure they refuse, like dhat's.
    let profiler = testing_profiler(&path);
    let failed = std::panic::catch_unwind(|| heap_check::assert!(false, "first"));
    assert!(failed.is_err());
    let refused = "dhat: asserting after the profiler has asserted";
    heap_check::assert_is_panic(|| heap_check::assert!(true), refused);
    heap_check::assert_is_panic(|| heap_check::assert_eq!(1, 1, "same"), refused);
    heap_check::assert_is_panic(|| heap_check::assert_ne!(1, 2), refused);
    drop(profiler);
    std::fs::remove_file(&path).unwrap();
}
