//! Testing mode: a failing dhat assertion writes the output once and leaves the profiler in
//! the "asserted" state (dhat's `tests/assert-failure.rs`, without the figures, which
//! `dhat_numbers.rs` covers).
#![cfg(feature = "dhat-compat")]

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn failed_assertion_writes_once_then_refuses() {
    let dir = std::env::temp_dir().join(format!(
        "mod-alloc-dhat-assert-failure-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("assert.json");
    let _ = std::fs::remove_file(&path);

    let profiler = dhat::Profiler::builder().testing().file_name(&path).build();
    let v1 = vec![1u8; 16];
    let v2 = vec![2u8; 16];
    let stats = dhat::HeapStats::get();
    dhat::assert!(stats.curr_blocks <= stats.max_blocks);
    assert!(
        !path.exists(),
        "testing mode writes nothing while assertions pass"
    );

    dhat::assert_is_panic(
        || dhat::assert!(stats.curr_bytes == usize::MAX),
        "dhat: assertion failed: stats.curr_bytes == usize::MAX",
    );
    assert!(path.exists(), "the failed assertion wrote the file");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["mode"], "rust-heap");
    std::fs::remove_file(&path).unwrap();

    let after = "dhat: asserting after the profiler has asserted";
    dhat::assert_is_panic(|| dhat::assert!(true, "{}", 1), after);
    dhat::assert_is_panic(|| dhat::assert_eq!(1, 1), after);
    dhat::assert_is_panic(|| dhat::assert_ne!(1, 2), after);
    dhat::assert_is_panic(
        dhat::HeapStats::get,
        "dhat: getting heap stats after the profiler has asserted",
    );
    dhat::assert_is_panic(
        dhat::AdHocStats::get,
        "dhat: getting ad hoc stats after the profiler has asserted",
    );
    dhat::assert_is_panic(
        dhat::Profiler::new_heap,
        "dhat: creating a profiler while a profiler is already running",
    );
    dhat::ad_hoc_event(1); // ignored after the assertion
    drop(profiler);
    assert!(
        !path.exists(),
        "dropping after a failed assertion writes nothing more"
    );
    drop((v1, v2));

    // A second testing profiler in the same process.
    let second = dhat::Profiler::builder().testing().file_name(&path).build();
    dhat::assert_is_panic(|| dhat::assert!(false), "dhat: assertion failed: false");
    assert!(path.exists());
    drop(second);
    std::fs::remove_dir_all(&dir).unwrap();
}
