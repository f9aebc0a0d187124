//! dhat's trimming below `main` compares the stack a profiler was built on with the stack of
//! its first event, whatever their depth. A first event, or a `build()`, deeper than a
//! capture holds must still have every later point cut where the two stacks join, not run
//! on into the thread's start-up frames. Needs frame pointers: run with
//! `RUSTFLAGS="-C force-frame-pointers=yes"`, in debug and release builds, as the test command
//! does.
#![cfg(all(
    feature = "dhat-compat",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::hint::black_box;

use mod_alloc::dhat_compat as dhat;

mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Far more frames than a capture holds (64).
const DEEP: usize = 150;

/// `depth` frames of recursion, then `at_bottom`.
#[inline(never)]
fn nested<R>(depth: usize, at_bottom: &mut dyn FnMut() -> R) -> R {
    if depth == 0 {
        at_bottom()
    } else {
        let result = nested(depth - 1, at_bottom);
        black_box(depth);
        result
    }
}

/// The frames of the only point of `bytes` bytes in `json`.
fn frames_of(json: &str, bytes: u64) -> Vec<String> {
    let points = common::program_point_functions(json);
    let mut matching = points.into_iter().filter(|(tb, _)| *tb == bytes);
    let (_, names) = matching.next().expect("a point of that size");
    assert!(matching.next().is_none(), "one point of {bytes} bytes");
    names
}

/// Asserts that a point ends in `function`'s frame: after it come at most the functions
/// inlined into that frame (the test harness's closure calling it), never the frames that
/// started the thread.
fn assert_ends_in(names: &[String], function: &str) {
    let at = names
        .iter()
        .position(|name| name == function)
        .unwrap_or_else(|| panic!("{function} missing: {names:#?}"));
    let module = module_path!();
    for below in &names[at + 1..] {
        assert!(
            below.starts_with(module) || below == "core::ops::function::FnOnce::call_once",
            "{below} below {function}: {names:#?}"
        );
    }
}

#[inline(never)]
fn shallow_block(size: usize) -> Vec<u8> {
    black_box(vec![1u8; size])
}

#[test]
fn points_are_cut_below_the_caller_however_deep_the_first_stacks_were() {
    if common::skip_without_frame_pointers() {
        return;
    }
    let test_function = format!(
        "{}::points_are_cut_below_the_caller_however_deep_the_first_stacks_were",
        module_path!()
    );

    // No cap, so that nothing but the trim below the caller ends the points: trimming on,
    // as many frames as a capture holds.
    let builder = || {
        dhat::Profiler::builder()
            .testing()
            .trim_backtraces(Some(usize::MAX))
    };

    // The first event deep down.
    let profiler = builder().build();
    let deep = nested(DEEP, &mut || black_box(vec![2u8; 111]));
    let shallow = shallow_block(222);
    let json = profiler.json_string().expect("a running profiler");
    drop(profiler);
    drop((deep, shallow));
    let names = frames_of(&json, 222);
    assert_ends_in(&names, &test_function);

    // The profiler built deep down.
    let profiler = nested(DEEP, &mut || builder().build());
    let shallow = shallow_block(333);
    let json = profiler.json_string().expect("a running profiler");
    drop(profiler);
    drop(shallow);
    let names = frames_of(&json, 333);
    assert_ends_in(&names, &test_function);
}
