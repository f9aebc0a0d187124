//! One allocating function reached through different kinds of call: a
//! trait object, a `&dyn Fn` closure, a function item as `&dyn Fn`, a
//! `Box<dyn FnOnce>`, a generic function instantiated with a closure and
//! with a function item, and a function generic over two types, under
//! Some(4), Some(6) and Some(10). Each path may add frames of its own (call
//! shims, closure bodies), which count towards the limit.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

#[inline(never)]
fn target(n: usize) -> Vec<u8> {
    black_box(Vec::with_capacity(n))
}

trait Make {
    fn make(&self, n: usize) -> Vec<u8>;
}

struct Direct;

impl Make for Direct {
    #[inline(never)]
    fn make(&self, n: usize) -> Vec<u8> {
        black_box(target(n))
    }
}

#[inline(never)]
fn through_dyn(maker: &dyn Make, n: usize) -> Vec<u8> {
    black_box(maker.make(n))
}

#[inline(never)]
fn through_fn(f: &dyn Fn(usize) -> Vec<u8>, n: usize) -> Vec<u8> {
    black_box(f(n))
}

#[inline(never)]
fn through_box(f: Box<dyn FnOnce(usize) -> Vec<u8>>, n: usize) -> Vec<u8> {
    black_box(f(n))
}

#[inline(never)]
fn through_generic<F: Fn(usize) -> Vec<u8>>(f: F, n: usize) -> Vec<u8> {
    black_box(f(n))
}

#[inline(never)]
fn per_type<T: Default + std::fmt::Debug>(n: usize) -> Vec<u8> {
    black_box(format!("{:?}", black_box(T::default())));
    black_box(target(n))
}

#[inline(never)]
fn all_paths(held: &mut Vec<Vec<u8>>) {
    let base = black_box(1000);
    held.push(through_dyn(&Direct, base + 1));
    held.push(through_fn(&|n| black_box(target(n)), base + 2));
    held.push(through_fn(&target, base + 3));
    let boxed: Box<dyn FnOnce(usize) -> Vec<u8>> = Box::new(|n| black_box(target(n)));
    held.push(through_box(boxed, base + 4));
    held.push(through_generic(|n| black_box(target(n)), base + 5));
    held.push(through_generic(target, base + 6));
    held.push(per_type::<u8>(base + 7));
    held.push(per_type::<String>(base + 8));
}

fn main() {
    println!("start");
    let mut held = Vec::with_capacity(16);
    let limits: &[usize] = black_box(&[4, 6, 10]);
    for &limit in limits {
        let profiler = dhat::Profiler::builder()
            .trim_backtraces(Some(limit))
            .file_name(format!("dispatch-{limit}.json"))
            .build();
        all_paths(&mut held);
        println!("limit {limit}: {:?}", dhat::HeapStats::get());
        held.clear();
        drop(profiler);
    }
}
