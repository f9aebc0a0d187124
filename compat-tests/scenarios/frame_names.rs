//! Frame names of closures, generics, trait objects, nested modules, a
//! hand-rolled async block_on, impl-trait methods and an inline(always)
//! helper, all allocating.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

mod outer {
    pub mod inner {
        #[inline(never)]
        pub fn deep<T: Default + Clone>(n: usize) -> Vec<T> {
            std::hint::black_box(vec![T::default(); n])
        }
    }
}

trait Maker {
    fn make(&self) -> Box<[u8]>;
}

struct Small;
struct Big<const N: usize>;

impl Maker for Small {
    #[inline(never)]
    fn make(&self) -> Box<[u8]> {
        std::hint::black_box(vec![1u8; 24].into_boxed_slice())
    }
}

impl<const N: usize> Maker for Big<N> {
    #[inline(never)]
    fn make(&self) -> Box<[u8]> {
        std::hint::black_box(vec![2u8; N].into_boxed_slice())
    }
}

#[inline(never)]
fn call_dyn(m: &dyn Maker) -> Box<[u8]> {
    m.make()
}

#[inline(never)]
fn with_closure<F: FnOnce() -> Vec<u32>>(f: F) -> Vec<u32> {
    f()
}

#[inline(always)]
fn always_inlined(n: usize) -> String {
    "x".repeat(n)
}

async fn async_alloc(n: usize) -> Vec<u16> {
    let v = std::hint::black_box(vec![3u16; n]);
    std::future::ready(()).await;
    v
}

fn block_on<F: Future>(mut fut: F) -> F::Output {
    fn noop_raw() -> RawWaker {
        fn clone(_: *const ()) -> RawWaker {
            noop_raw()
        }
        fn noop(_: *const ()) {}
        static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
        RawWaker::new(std::ptr::null(), &VTABLE)
    }
    let waker = unsafe { Waker::from_raw(noop_raw()) };
    let mut cx = Context::from_waker(&waker);
    let mut fut = unsafe { Pin::new_unchecked(&mut fut) };
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

struct Generic<T>(T);
impl<T: Clone + std::fmt::Debug> Generic<T> {
    #[inline(never)]
    fn boxed(&self) -> Box<T> {
        std::hint::black_box(Box::new(self.0.clone()))
    }
}

fn main() {
    let _p = dhat::Profiler::builder().file_name("names.json").build();
    let a: Vec<u64> = outer::inner::deep(5);
    let b: Vec<(u8, u8)> = outer::inner::deep(7);
    let c = call_dyn(&Small);
    let d = call_dyn(&Big::<40>);
    let captured = 9usize;
    let e = with_closure(|| std::hint::black_box(vec![0xabu32; captured]));
    let f = always_inlined(11);
    let g = block_on(async_alloc(13));
    let h = Generic([1u8; 17]).boxed();
    let i = Generic(String::from("hello")).boxed();
    let nested = (0..3)
        .map(|k| std::hint::black_box(vec![k as u8; 30 + k]))
        .collect::<Vec<_>>();
    println!(
        "{} {} {} {} {} {} {} {} {} {}",
        a.len(),
        b.len(),
        c.len(),
        d.len(),
        e.len(),
        f.len(),
        g.len(),
        h.len(),
        i.len(),
        nested.len()
    );
    println!("stats: {:?}", dhat::HeapStats::get());
}
