//! Allocations in Rust callbacks that the C library calls: `qsort` with a
//! comparator that allocates, and `bsearch` likewise. The C library's own
//! frames sit between the callback and the Rust code that called into it.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::ffi::{c_int, c_void};
use std::hint::black_box;

extern "C" {
    fn qsort(
        base: *mut c_void,
        count: usize,
        size: usize,
        compare: extern "C" fn(*const c_void, *const c_void) -> c_int,
    );
    fn bsearch(
        key: *const c_void,
        base: *const c_void,
        count: usize,
        size: usize,
        compare: extern "C" fn(*const c_void, *const c_void) -> c_int,
    ) -> *mut c_void;
}

extern "C" fn compare_boxed(a: *const c_void, b: *const c_void) -> c_int {
    // SAFETY: qsort and bsearch pass pointers to elements of the u32 arrays below.
    let (a, b) = unsafe { (*(a as *const u32), *(b as *const u32)) };
    let boxed = black_box(Box::new([a, b]));
    boxed[0].cmp(&boxed[1]) as c_int
}

#[inline(never)]
fn sort(values: &mut [u32]) {
    // SAFETY: `values` is a valid array of `values.len()` u32s.
    unsafe {
        qsort(
            values.as_mut_ptr().cast(),
            values.len(),
            std::mem::size_of::<u32>(),
            compare_boxed,
        )
    };
}

#[inline(never)]
fn find(values: &[u32], key: u32) -> bool {
    // SAFETY: `values` is a sorted array of `values.len()` u32s and `key` a u32.
    let found = unsafe {
        bsearch(
            (&key as *const u32).cast(),
            values.as_ptr().cast(),
            values.len(),
            std::mem::size_of::<u32>(),
            compare_boxed,
        )
    };
    !found.is_null()
}

fn main() {
    let mut values: Vec<u32> = (0..40).map(|i| (i * 7919) % 101).collect();
    let profiler = dhat::Profiler::builder()
        .file_name("callbacks.json")
        .build();
    sort(&mut values);
    println!("found: {}", find(&values, values[17]));
    println!("{:?}", dhat::HeapStats::get());
    drop(profiler);
}
