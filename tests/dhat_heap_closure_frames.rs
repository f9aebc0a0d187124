//! Heap-mode trimming keeps user frames that sit above this crate's functions taking
//! closures: dhat drops only what is above its allocator's frames, so an allocation inside a
//! closure given to `assert_is_panic` shows the closure, `assert_is_panic` and its caller.
//! Needs frame pointers: run with `RUSTFLAGS="-C force-frame-pointers=yes"`, in debug and
//! release builds, as the test command does.
#![cfg(feature = "dhat-compat")]

use std::hint::black_box;

use mod_alloc::dhat_compat as dhat;

mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[inline(never)]
fn allocate_in_assert_is_panic() {
    dhat::assert_is_panic(
        || {
            black_box(vec![7u8; 1000]);
            panic!("expected");
        },
        "expected",
    );
    black_box(());
}

#[inline(never)]
fn allocate_in_measure_thread() {
    let (block, _stats) = mod_alloc::measure_thread(|| black_box(vec![9u8; 3000]));
    drop(black_box(block));
}

/// The frames of the only point of `bytes` bytes.
fn frames_of(points: &[(u64, Vec<String>)], bytes: u64) -> &[String] {
    let mut matching = points.iter().filter(|(tb, _)| *tb == bytes);
    let Some((_, names)) = matching.next() else {
        panic!(
            "no point of {bytes} bytes (merged with another? are frame pointers forced?): \
             {points:#?}"
        );
    };
    assert!(matching.next().is_none(), "one point of {bytes} bytes");
    names
}

/// Asserts that `names` holds each of `expected`, in that order (not necessarily adjacent).
fn assert_in_order(names: &[String], expected: &[&str]) {
    let mut rest = names.iter();
    for wanted in expected {
        assert!(
            rest.any(|name| name == wanted),
            "{wanted} missing or out of order in {names:#?}"
        );
    }
}

#[test]
fn frames_above_closure_taking_functions_are_kept() {
    let module = module_path!();
    let in_assert = format!("{module}::allocate_in_assert_is_panic");
    let in_assert_closure = format!("{in_assert}::{{{{closure}}}}");
    let in_measure = format!("{module}::allocate_in_measure_thread");
    let in_measure_closure = format!("{in_measure}::{{{{closure}}}}");

    // Testing mode, as dhat's own tests run `assert_is_panic`; no cap, so that a debug build's
    // deeper std frames do not push the closure out.
    let profiler = dhat::Profiler::builder()
        .testing()
        .trim_backtraces(Some(usize::MAX))
        .build();
    allocate_in_assert_is_panic();
    allocate_in_measure_thread();
    let json = profiler.json_string().expect("a running profiler");
    drop(profiler);
    let points = common::program_point_functions(&json);

    let in_closure = frames_of(&points, 1000);
    assert_in_order(
        in_closure,
        &[
            &in_assert_closure,
            "mod_alloc::dhat_compat::assert_is_panic",
            &in_assert,
        ],
    );
    // The panic's own allocations (its payload box, the unwinder's exception) happen under
    // `rust_begin_unwind`, which is std's, not the allocator's: the closure that panicked and
    // its callers stay below.
    let while_panicking: Vec<&Vec<String>> = points
        .iter()
        .map(|(_, names)| names)
        .filter(|names| names.iter().any(|name| name.ends_with("rust_begin_unwind")))
        .collect();
    assert!(
        !while_panicking.is_empty(),
        "the panic allocates: {points:#?}"
    );
    for names in while_panicking {
        assert_in_order(
            names,
            &[
                "core::panicking::panic_fmt",
                &in_assert_closure,
                "mod_alloc::dhat_compat::assert_is_panic",
                &in_assert,
            ],
        );
    }

    let measured = frames_of(&points, 3000);
    assert_in_order(
        measured,
        &[
            &in_measure_closure,
            "mod_alloc::profiler::measure_thread",
            &in_measure,
        ],
    );
}
