//! The program's own `GlobalAlloc` around `dhat::Alloc`, its methods kept
//! out of line, with no `alloc_zeroed` of its own: a zeroed allocation runs
//! the trait's default method, which calls the wrapper's `alloc`. Raw
//! `alloc_zeroed` and `alloc` calls at the bottom of a recursion deeper
//! than the frame limit, from two callers, in an optimised build, under
//! Some(5), Some(6) and Some(8): the zeroed path may hold a different number
//! of allocator frames than the plain one, and dhat's limit counts them.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

use std::alloc::{alloc, alloc_zeroed, dealloc, GlobalAlloc, Layout};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static CALLS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        black_box(dhat::Alloc.alloc(layout))
    }
    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        dhat::Alloc.dealloc(ptr, layout);
        black_box(());
    }
    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        black_box(dhat::Alloc.realloc(ptr, layout, new_size))
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[inline(never)]
fn raw_zeroed(n: usize) -> (*mut u8, Layout) {
    let layout = Layout::from_size_align(n, 8).unwrap();
    // SAFETY: non-zero size; checked for null; freed by `release` with its layout.
    let p = unsafe { alloc_zeroed(layout) };
    assert!(!p.is_null());
    (black_box(p), layout)
}

#[inline(never)]
fn raw_plain(n: usize) -> (*mut u8, Layout) {
    let layout = Layout::from_size_align(n, 8).unwrap();
    // SAFETY: as above.
    let p = unsafe { alloc(layout) };
    assert!(!p.is_null());
    (black_box(p), layout)
}

#[inline(never)]
fn descend(n: usize, size: usize, held: &mut Vec<(*mut u8, Layout)>) {
    if black_box(n) == 0 {
        held.push(raw_zeroed(size));
        held.push(raw_plain(size + 8));
    } else {
        descend(n - 1, size, held);
        black_box(n);
    }
}

#[inline(never)]
fn from_a(n: usize, held: &mut Vec<(*mut u8, Layout)>) {
    descend(n, 100, held);
    black_box(n);
}

#[inline(never)]
fn from_b(n: usize, held: &mut Vec<(*mut u8, Layout)>) {
    descend(n, 200, held);
    black_box(n);
}

fn release(held: &mut Vec<(*mut u8, Layout)>) {
    for (p, layout) in held.drain(..) {
        // SAFETY: allocated by `raw_zeroed` or `raw_plain` with this layout, freed once.
        unsafe { dealloc(p, layout) };
    }
}

fn main() {
    println!("start");
    // Room for every block, so that `held` never grows while profiled.
    let mut held = Vec::with_capacity(16);
    let limits: &[usize] = black_box(&[5, 6, 8]);
    for &limit in limits {
        let profiler = dhat::Profiler::builder()
            .trim_backtraces(Some(limit))
            .file_name(format!("wrapped-zeroed-{limit}.json"))
            .build();
        from_a(black_box(limit + 2), &mut held);
        from_b(black_box(limit + 2), &mut held);
        from_a(black_box(2), &mut held);
        println!("limit {limit}, held: {:?}", dhat::HeapStats::get());
        release(&mut held);
        let big = raw_plain(black_box(10_000));
        release(&mut vec![big]);
        println!("limit {limit}, end: {:?}", dhat::HeapStats::get());
        drop(profiler);
    }
    black_box(CALLS.load(Ordering::Relaxed));
}
