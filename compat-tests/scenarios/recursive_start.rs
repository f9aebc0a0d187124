//! The profiler is built at the bottom of a recursion, three levels below
//! `main`, and the levels allocate on the way back up. The first event's
//! stack shares the recursive call's return address with the start stack,
//! so dhat's bottom trimming stops every later walk at the first frame
//! returning into that call: blocks from every level, and from a second,
//! deeper recursion started elsewhere in `main`, are one program point in
//! dhat, whose peak (`mb`/`mbk`) holds them all at once. The global peak
//! comes later, from `main`, when they are gone.
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
fn site(n: usize) -> Vec<u8> {
    black_box(Vec::with_capacity(n))
}

/// Recurses `n` levels. At the bottom it builds the profiler if none runs, or
/// allocates 50 bytes; every level above the bottom allocates 100 bytes on
/// the way back.
#[inline(never)]
fn rec(n: usize, state: &mut State) {
    if black_box(n) == 0 {
        if state.profiler.is_none() {
            state.profiler = Some(
                dhat::Profiler::builder()
                    .file_name("recursive.json")
                    .build(),
            );
        } else {
            let block = site(50);
            state.held.push(block);
        }
        return;
    }
    rec(n - 1, state);
    let block = site(100);
    state.held.push(block);
}

fn main() {
    println!("start");
    let mut state = State {
        profiler: None,
        // Room for every block, so that `held` never grows while profiled.
        held: Vec::with_capacity(16),
    };
    rec(black_box(3), &mut state);
    println!("built at 3: {:?}", dhat::HeapStats::get());
    rec(black_box(6), &mut state);
    println!("all held: {:?}", dhat::HeapStats::get());
    state.held.clear();
    drop(black_box(vec![0u8; 2000]));
    println!("end: {:?}", dhat::HeapStats::get());
    drop(state.profiler.take());
    common::list_files("end");
}
