//! A chain of non-inlined functions appears top-down, in order, in a frame-pointer walk.
//!
//! Run with `RUSTFLAGS="-C force-frame-pointers=yes"`, in debug and release builds.
#![cfg(all(
    feature = "backtraces",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::hint::black_box;

use mod_alloc::__private::walk;

/// How far past a function's entry a return address into it may lie: these functions are a
/// few dozen instructions long.
const SPAN: usize = 1024;

fn returns_into(address: usize, entry: usize) -> bool {
    address > entry && address - entry < SPAN
}

#[inline(never)]
fn level_one(frames: &mut [usize]) -> usize {
    black_box(level_two(frames))
}

#[inline(never)]
fn level_two(frames: &mut [usize]) -> usize {
    black_box(level_three(frames))
}

#[inline(never)]
fn level_three(frames: &mut [usize]) -> usize {
    black_box(walk::walk_here(frames))
}

type Level = fn(&mut [usize]) -> usize;

#[test]
fn non_inlined_chain_appears_innermost_first() {
    let mut frames = [0usize; walk::MAX_FRAMES];
    let written = level_one(&mut frames);
    assert!(
        written >= 3,
        "walk found {written} frames: are frame pointers forced?"
    );
    let expected = [level_three as Level, level_two as Level, level_one as Level];
    for (depth, function) in expected.iter().enumerate() {
        assert!(
            returns_into(frames[depth], *function as usize),
            "frame {depth} is {:#x}, not a return into {:#x}; frames: {:x?}",
            frames[depth],
            *function as usize,
            &frames[..written]
        );
    }
    // The test harness's own frames follow, up to the thread's entry.
    assert!(written > 3);
}

#[test]
fn depth_is_capped_by_the_buffer_and_by_max_frames() {
    let mut three = [0usize; 3];
    assert_eq!(level_one(&mut three), 3);
    assert!(returns_into(three[2], level_one as Level as usize));

    let mut none: [usize; 0] = [];
    assert_eq!(level_one(&mut none), 0);

    // A buffer larger than MAX_FRAMES is filled to MAX_FRAMES at most.
    let mut large = [0usize; 2 * walk::MAX_FRAMES];
    assert!(recurse(100, &mut large) == walk::MAX_FRAMES);
    assert_eq!(walk::DEFAULT_FRAMES, 16);
}

/// Recursion deep enough that the stack holds more than `MAX_FRAMES` records.
#[inline(never)]
fn recurse(depth: usize, frames: &mut [usize]) -> usize {
    if depth == 0 {
        walk::walk_here(frames)
    } else {
        black_box(recurse(black_box(depth - 1), frames))
    }
}

#[test]
fn every_frame_of_a_deep_recursion_is_found() {
    let mut frames = [0usize; walk::MAX_FRAMES];
    let written = recurse(40, &mut frames);
    let entry = recurse as fn(usize, &mut [usize]) -> usize as usize;
    // One return into `recurse` per level (41 calls, the outermost returning into this
    // test); an optimiser may fold one level into its caller.
    let levels = frames[..written]
        .iter()
        .take_while(|&&ra| returns_into(ra, entry))
        .count();
    assert!(
        (40..=41).contains(&levels),
        "{levels} levels in {:x?}",
        &frames[..written]
    );
    assert!(written > levels, "the walk stopped inside the recursion");
}

#[test]
fn spawned_threads_walk_their_own_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let mut frames = [0usize; 8];
            let written = level_one(&mut frames);
            (
                written,
                returns_into(frames[0], level_three as Level as usize),
            )
        })
        .unwrap();
    let (written, first_is_level_three) = handle.join().unwrap();
    assert!(written >= 3 && first_is_level_three);
}

#[test]
fn the_frame_pointer_self_test_passes_when_frame_pointers_are_forced() {
    assert!(!walk::frame_pointers_look_missing());
    assert!(!walk::foreign_stack_seen());
}
