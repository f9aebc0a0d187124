//! Frame limits against call chains that mix `#[inline(always)]` and
//! `#[inline(never)]` functions: only physical frames count towards
//! `trim_backtraces`, so an inlined caller is shown with the frame it was
//! inlined into, and a limit cuts a chain at a different function than its
//! depth in source suggests. Chains end in a `Vec` grown by std's
//! out-of-line growth path, a `Box`, and a `vec!`, under Some(4) to Some(8).
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

#[inline(never)]
fn a1(out: &mut Vec<u32>) {
    a2(out);
    black_box(1);
}

#[inline(always)]
fn a2(out: &mut Vec<u32>) {
    a3(out);
    black_box(2);
}

#[inline(always)]
fn a3(out: &mut Vec<u32>) {
    a4(out);
    black_box(3);
}

#[inline(never)]
fn a4(out: &mut Vec<u32>) {
    for i in 0..black_box(9) {
        out.push(i);
    }
}

#[inline(always)]
fn b1() -> Box<[u64; 4]> {
    let b = b2();
    black_box(b)
}

#[inline(never)]
fn b2() -> Box<[u64; 4]> {
    black_box(Box::new([black_box(5u64); 4]))
}

#[inline(never)]
fn c1(n: usize) -> Vec<u8> {
    black_box(c2(n + 1))
}

#[inline(never)]
fn c2(n: usize) -> Vec<u8> {
    black_box(c3(n + 1))
}

#[inline(always)]
fn c3(n: usize) -> Vec<u8> {
    black_box(c4(n + 1))
}

#[inline(never)]
fn c4(n: usize) -> Vec<u8> {
    black_box(c5(n + 1))
}

#[inline(never)]
fn c5(n: usize) -> Vec<u8> {
    black_box(vec![1u8; n])
}

fn main() {
    for limit in [4, 5, 6, 8] {
        let profiler = dhat::Profiler::builder()
            .trim_backtraces(Some(limit))
            .file_name(format!("inlined-{limit}.json"))
            .build();
        let mut out = Vec::new();
        a1(&mut out);
        let boxed = b1();
        let bytes = c1(black_box(limit));
        println!("limit {limit}: {:?}", dhat::HeapStats::get());
        drop(profiler);
        drop((out, boxed, bytes));
    }
}
