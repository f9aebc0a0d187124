//! The profiler is made inside an async fn run by a hand-rolled block_on,
//! as with #[tokio::main]: the executor's poll frames and main sit below
//! both the start stack and every allocation, and an allocation after a
//! pending await comes from a second poll.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[inline(never)]
async fn leaf(n: usize) -> Vec<u8> {
    let v = black_box(vec![1u8; n]);
    YieldOnce(false).await;
    let w = black_box(vec![2u8; n + 1]);
    drop(v);
    w
}

#[inline(never)]
async fn app() -> usize {
    let profiler = dhat::Profiler::builder().file_name("async.json").build();
    let a = leaf(10).await;
    let b = leaf(20).await;
    let s = dhat::HeapStats::get();
    println!("stats: {s:?}");
    drop(profiler);
    a.len() + b.len()
}

#[inline(never)]
fn block_on<F: Future>(fut: F) -> F::Output {
    fn raw() -> RawWaker {
        fn clone(_: *const ()) -> RawWaker {
            raw()
        }
        fn noop(_: *const ()) {}
        static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
        RawWaker::new(std::ptr::null(), &VTABLE)
    }
    let waker = unsafe { Waker::from_raw(raw()) };
    let mut cx = Context::from_waker(&waker);
    let mut fut = Box::pin(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn main() {
    println!("{}", block_on(app()));
    common::list_files("end");
}
