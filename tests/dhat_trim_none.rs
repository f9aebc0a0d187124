//! `trim_backtraces(None)` turns off dhat's frame limit along with its trimming: a point
//! allocated at the bottom of a recursion deeper than the default limit of 10 keeps every
//! level of it. (`Some(usize::MAX)` keeps the trimming and drops the limit, which the
//! compat scenario `trim_settings` compares with dhat; its `None` profile differs from
//! dhat's in the allocator's own frames, so there only the figures are compared.) Needs
//! frame pointers: run with `RUSTFLAGS="-C force-frame-pointers=yes"`, in debug and release
//! builds, as the test command does.
#![cfg(all(
    feature = "dhat-compat",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::hint::black_box;

use mod_alloc::dhat_compat as dhat;

mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Levels of recursion below the first call: three times the default limit, and well
/// within the 64 frames a capture holds.
const DEPTH: usize = 30;

/// `depth` more levels of itself, then a block of 4,321 bytes.
#[inline(never)]
fn descend(depth: usize) -> Vec<u8> {
    if depth == 0 {
        black_box(vec![5u8; 4321])
    } else {
        let block = descend(depth - 1);
        black_box(depth);
        block
    }
}

#[test]
fn no_limit_on_the_frames_without_trimming() {
    if common::skip_without_frame_pointers() {
        return;
    }
    let recursion = format!("{}::descend", module_path!());

    let profiler = dhat::Profiler::builder()
        .testing()
        .trim_backtraces(None)
        .build();
    let block = descend(black_box(DEPTH));
    let json = profiler.json_string().expect("a running profiler");
    drop(profiler);
    drop(block);

    let points = common::program_point_functions(&json);
    let mut matching = points.iter().filter(|(tb, _)| *tb == 4321);
    let (_, names) = matching.next().expect("a point of 4,321 bytes");
    assert!(matching.next().is_none(), "one point of 4,321 bytes");
    let levels = names.iter().filter(|name| **name == recursion).count();
    assert_eq!(
        levels,
        DEPTH + 1,
        "every level of the recursion, with no limit of 10: {names:#?}"
    );
}
