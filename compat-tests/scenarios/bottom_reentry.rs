//! The profiler is built two calls below `main` (`outer` calls `inner`,
//! which builds it), so dhat's bottom trimming covers `outer`'s call of
//! `inner` and everything below it: a walk stops at the first frame with one
//! of those return addresses, wherever it is. Later `via` calls `outer`, so
//! its stacks pass through the same `outer` frame with a different caller
//! below: dhat stops both walks there and counts the blocks of both paths
//! in one program point, whose peak (`mb`/`mbk`) is 200 bytes in 2 blocks,
//! reached while the global peak comes later, from `main`.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

struct State {
    profiler: Option<dhat::Profiler>,
    held: Vec<Vec<u8>>,
}

#[inline(never)]
fn site() -> Vec<u8> {
    black_box(Vec::with_capacity(100))
}

/// Step 0 builds the profiler; any other step allocates 100 bytes and keeps them.
#[inline(never)]
fn inner(step: u8, state: &mut State) {
    if black_box(step) == 0 {
        state.profiler = Some(dhat::Profiler::builder().file_name("reentry.json").build());
    } else {
        let block = site();
        state.held.push(block);
    }
}

/// One call site of `inner`, the same return address on every path.
#[inline(never)]
fn outer(step: u8, state: &mut State) {
    inner(step, state);
    black_box(step);
}

/// A second way into `outer`.
#[inline(never)]
fn via(step: u8, state: &mut State) {
    outer(step, state);
    black_box(step);
}

fn main() {
    println!("start");
    let mut state = State {
        profiler: None,
        // Room for every block, so that `held` never grows while profiled.
        held: Vec::with_capacity(8),
    };
    // One call of `outer` in a loop the compiler cannot unroll: build, then
    // the first event, both from the same return address in `main`.
    let steps: &[u8] = black_box(&[0, 1]);
    for &step in steps {
        outer(step, &mut state);
    }
    via(1, &mut state);
    println!("both held: {:?}", dhat::HeapStats::get());
    state.held.clear();
    drop(black_box(vec![0u8; 1000]));
    println!("end: {:?}", dhat::HeapStats::get());
    drop(state.profiler.take());
    common::list_files("end");
}
