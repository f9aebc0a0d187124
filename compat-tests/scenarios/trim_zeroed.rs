//! Zeroed and plain allocations at the bottom of a recursion deeper than
//! the frame limit, under Some(4), Some(5), Some(6) and Some(8): `vec![0;
//! n]` (zeroed), `vec![1; n]`, `Vec::with_capacity` and
//! `std::alloc::alloc_zeroed` called directly. A zeroed allocation may take
//! a different path through the allocator than a plain one, with more or
//! fewer allocator frames counted towards the limit, which decides how many
//! of the recursion's frames a point keeps and which stacks share a point.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::hint::black_box;

struct Held {
    vecs: Vec<Vec<u8>>,
    raw: Vec<(*mut u8, Layout)>,
}

#[inline(never)]
fn zeroed_vec(n: usize) -> Vec<u8> {
    black_box(vec![0u8; n])
}

#[inline(never)]
fn ones_vec(n: usize) -> Vec<u8> {
    black_box(vec![1u8; n])
}

#[inline(never)]
fn with_capacity(n: usize) -> Vec<u8> {
    black_box(Vec::with_capacity(n))
}

#[inline(never)]
fn raw_zeroed(n: usize) -> (*mut u8, Layout) {
    let layout = Layout::from_size_align(n, 8).unwrap();
    // SAFETY: non-zero size; checked for null; freed by `release` with its layout.
    let p = unsafe { alloc_zeroed(layout) };
    assert!(!p.is_null());
    (black_box(p), layout)
}

/// Recurses `n` levels, then allocates one block of each kind, `size` bytes
/// plus a kind's own offset.
#[inline(never)]
fn descend(n: usize, size: usize, held: &mut Held) {
    if black_box(n) == 0 {
        held.vecs.push(zeroed_vec(size));
        held.vecs.push(ones_vec(size + 1));
        held.vecs.push(with_capacity(size + 2));
        held.raw.push(raw_zeroed(size + 8));
    } else {
        descend(n - 1, size, held);
        black_box(n);
    }
}

#[inline(never)]
fn from_a(n: usize, held: &mut Held) {
    descend(n, 100, held);
    black_box(n);
}

#[inline(never)]
fn from_b(n: usize, held: &mut Held) {
    descend(n, 200, held);
    black_box(n);
}

fn release(held: &mut Held) {
    held.vecs.clear();
    for (p, layout) in held.raw.drain(..) {
        // SAFETY: allocated by `raw_zeroed` with this layout, freed once.
        unsafe { dealloc(p, layout) };
    }
}

fn main() {
    println!("start");
    // Room for every block, so that neither vector grows while profiled.
    let mut held = Held {
        vecs: Vec::with_capacity(32),
        raw: Vec::with_capacity(16),
    };
    let limits: &[usize] = black_box(&[4, 5, 6, 8]);
    for &limit in limits {
        let profiler = dhat::Profiler::builder()
            .trim_backtraces(Some(limit))
            .file_name(format!("zeroed-{limit}.json"))
            .build();
        from_a(black_box(limit + 2), &mut held);
        from_b(black_box(limit + 2), &mut held);
        from_a(black_box(2), &mut held);
        println!("limit {limit}, held: {:?}", dhat::HeapStats::get());
        release(&mut held);
        drop(with_capacity(black_box(10_000)));
        println!("limit {limit}, end: {:?}", dhat::HeapStats::get());
        drop(profiler);
    }
}
