//! Three hundred short-lived threads, started one after another and joined
//! before the next starts, so the order of every event is fixed. Each one
//! allocates a block it hands back to the main thread, frees one of two
//! blocks of its own, and leaves the other for the main thread to free,
//! and every tenth makes a large block that is the peak for a while. The
//! main thread frees and reallocates what the threads left behind, between
//! threads and after the last one, so blocks outlive the thread (and the
//! per-thread tables) that recorded them.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

#[inline(never)]
fn block(size: usize) -> Vec<u8> {
    black_box(vec![3u8; size])
}

#[inline(never)]
fn regrow(v: &mut Vec<u8>) {
    v.reserve_exact(v.capacity() * 2 - v.len());
}

fn main() {
    let mut kept: Vec<Vec<u8>> = Vec::with_capacity(1024);
    let mut large: Option<Vec<u8>> = None;
    let profiler = dhat::Profiler::builder().file_name("churn.json").build();
    for i in 0..300usize {
        let handle = std::thread::spawn(move || {
            let mine = block(16 + i % 7);
            let gone = block(40);
            drop(gone);
            let left = block(24);
            let big = if i % 10 == 0 {
                let big = block(200_000 + i);
                let spare = block(100_000);
                drop(spare);
                Some(big)
            } else {
                None
            };
            (mine, left, big)
        });
        let (mine, left, big) = handle.join().unwrap();
        kept.push(mine);
        drop(left);
        if let Some(big) = big {
            large = Some(big);
        }
        if i % 25 == 24 {
            // The large block dies here, and a kept block grows.
            large = None;
            regrow(&mut kept[i / 2]);
        }
        if i % 150 == 149 {
            println!("{i}: {:?}", dhat::HeapStats::get());
        }
    }
    for v in kept.iter_mut().step_by(3) {
        regrow(v);
    }
    kept.truncate(100);
    drop(large);
    println!("end: {:?}", dhat::HeapStats::get());
    drop(profiler);
}
