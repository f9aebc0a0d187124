//! Values whose `Drop` allocates, dropped while a panic unwinds through the
//! functions that own them (the unwinder runs their landing pads), at three
//! depths, then dropped normally: the allocations during unwinding are
//! recorded with the owning functions' frames, as dhat records them.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

struct Noisy(usize);

impl Drop for Noisy {
    #[inline(never)]
    fn drop(&mut self) {
        black_box(vec![9u8; 10 + self.0]);
        KEPT.with(|kept| kept.borrow_mut().push(format!("dropped {}", self.0)));
    }
}

thread_local! {
    static KEPT: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[inline(never)]
fn inner(fail: bool) {
    let _a = Noisy(3);
    if black_box(fail) {
        panic!("inner failed");
    }
}

#[inline(never)]
fn middle(fail: bool) {
    let _b = Noisy(2);
    inner(fail);
    black_box(());
}

#[inline(never)]
fn outer(fail: bool) {
    let _c = Noisy(1);
    middle(fail);
    black_box(());
}

fn main() {
    KEPT.with(|kept| kept.borrow_mut().reserve(16));
    let profiler = dhat::Profiler::builder().file_name("unwind.json").build();
    common::outcome("unwinding", || outer(true));
    common::outcome("returning", || outer(false));
    println!("{:?}", dhat::HeapStats::get());
    drop(profiler);
    KEPT.with(|kept| println!("{:?}", kept.borrow()));
}
