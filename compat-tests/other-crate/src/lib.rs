//! Allocations made in a crate other than the program's (see `Cargo.toml`).
//! Each function is kept out of line, and its block is returned through
//! `black_box`, so it stays the allocating frame.

use std::hint::black_box;

/// `vec![0; n]`: a zeroed allocation.
#[inline(never)]
pub fn zeroed_vec(n: usize) -> Vec<u8> {
    black_box(vec![0u8; n])
}

/// `vec![1; n]`: a plain allocation, filled.
#[inline(never)]
pub fn filled_vec(n: usize) -> Vec<u8> {
    black_box(vec![1u8; n])
}

/// `Vec::with_capacity(n)`: a plain allocation.
#[inline(never)]
pub fn empty_vec(n: usize) -> Vec<u8> {
    black_box(Vec::with_capacity(n))
}

/// `vec![value; n]`, instantiated in the caller's crate: the allocation
/// path is compiled there, with the caller's inlining of the shims. A zero
/// `u8` takes the zeroed path, as in [`zeroed_vec`].
#[inline(never)]
pub fn generic_vec<T: Clone>(value: T, n: usize) -> Vec<T> {
    black_box(vec![value; n])
}

/// A `Vec` grown from empty one push at a time: its first block comes from
/// the growth path, then each growth reallocates.
#[inline(never)]
pub fn grown_vec(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(black_box(i as u8));
    }
    black_box(v)
}

/// [`grown_vec`], instantiated in the caller's crate.
#[inline(never)]
pub fn generic_grown_vec<T: From<u8>>(n: usize) -> Vec<T> {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(T::from(black_box(i as u8)));
    }
    black_box(v)
}

/// A `Vec` of twice the room it needs, shrunk to fit: a shrinking
/// reallocation.
#[inline(never)]
pub fn shrunk_vec(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(2 * n);
    v.extend(std::iter::repeat(black_box(1u8)).take(n));
    v.shrink_to_fit();
    black_box(v)
}

/// `Box::new` of a zeroed array, which the optimiser may turn into a zeroed
/// allocation.
#[inline(never)]
pub fn boxed_zero_array() -> Box<[u8; 96]> {
    black_box(Box::new([0u8; 96]))
}

/// `Box::new` of a filled array.
#[inline(never)]
pub fn boxed_filled_array() -> Box<[u8; 112]> {
    black_box(Box::new([1u8; 112]))
}

/// `Box::new_zeroed_slice`: a zeroed allocation through `Box`'s own path.
#[inline(never)]
pub fn boxed_zeroed_slice(n: usize) -> Box<[u8]> {
    // SAFETY: zero is a valid `u8`.
    black_box(unsafe { Box::<[u8]>::new_zeroed_slice(n).assume_init() })
}

/// `format!`: a `String` sized by estimate, then grown.
#[inline(never)]
pub fn formatted(n: usize) -> String {
    black_box(format!("{:>width$}", black_box(n), width = n))
}

/// A `HashMap` with `n` entries, grown by inserts.
#[inline(never)]
pub fn map_of(n: u64) -> std::collections::HashMap<u64, u64> {
    let mut map = std::collections::HashMap::new();
    for i in 0..n {
        map.insert(black_box(i), i);
    }
    black_box(map)
}

/// `Rc::new` and `Arc::new`.
#[inline(never)]
pub fn shared(n: u8) -> (std::rc::Rc<[u8; 72]>, std::sync::Arc<[u8; 88]>) {
    black_box((std::rc::Rc::new([n; 72]), std::sync::Arc::new([n; 88])))
}

/// `std::alloc::alloc` then `std::alloc::realloc` to twice the size, called
/// directly; the block is returned as an empty `Vec` of its capacity.
#[inline(never)]
pub fn raw_realloc(n: usize) -> Vec<u8> {
    let layout = std::alloc::Layout::array::<u8>(n).unwrap();
    // SAFETY: non-zero size; checked for null; `realloc` gets the block's
    // layout; the `Vec` owns a block of `2 * n` bytes, alignment 1, from the
    // global allocator.
    unsafe {
        let p = std::alloc::alloc(layout);
        assert!(!p.is_null());
        let q = std::alloc::realloc(black_box(p), layout, 2 * n);
        assert!(!q.is_null());
        black_box(Vec::from_raw_parts(q, 0, 2 * n))
    }
}

/// `std::alloc::alloc_zeroed`, called directly; returned as in
/// [`raw_realloc`].
#[inline(never)]
pub fn raw_zeroed(n: usize) -> Vec<u8> {
    let layout = std::alloc::Layout::array::<u8>(n).unwrap();
    // SAFETY: as in `raw_realloc`.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout);
        assert!(!p.is_null());
        black_box(Vec::from_raw_parts(p, 0, n))
    }
}

/// A `BTreeMap` with `n` entries: its nodes come from `Box`'s uninitialised
/// allocation path.
#[inline(never)]
pub fn btree_of(n: u64) -> std::collections::BTreeMap<u64, u64> {
    let mut map = std::collections::BTreeMap::new();
    for i in 0..n {
        map.insert(black_box(i), i);
    }
    black_box(map)
}

/// `Rc::new_zeroed_slice` and `Arc::new_zeroed_slice`: zeroed allocations
/// through the reference counters' own paths.
#[inline(never)]
pub fn shared_zeroed(n: usize) -> (std::rc::Rc<[u8]>, std::sync::Arc<[u8]>) {
    // SAFETY: zero is a valid `u8`.
    black_box(unsafe {
        (
            std::rc::Rc::<[u8]>::new_zeroed_slice(n).assume_init(),
            std::sync::Arc::<[u8]>::new_zeroed_slice(n + 1).assume_init(),
        )
    })
}

/// `to_vec` of a slice, and a `Vec` collected from an iterator of known
/// length.
#[inline(never)]
pub fn copied(n: usize) -> (Vec<u8>, Vec<u32>) {
    let source = black_box([3u8; 40]);
    black_box((source[..n.min(40)].to_vec(), (0..n as u32).collect()))
}

/// `std::alloc::alloc`, as a tail call: optimised, neither this function nor
/// the shim leaves a frame, so the allocator returns straight to the caller.
///
/// # Safety
/// As `std::alloc::alloc`.
#[inline(never)]
pub unsafe fn tail_alloc(layout: std::alloc::Layout) -> *mut u8 {
    std::alloc::alloc(layout)
}

/// [`tail_alloc`] for `std::alloc::alloc_zeroed`, whose shim keeps a frame.
///
/// # Safety
/// As `std::alloc::alloc_zeroed`.
#[inline(never)]
pub unsafe fn tail_alloc_zeroed(layout: std::alloc::Layout) -> *mut u8 {
    std::alloc::alloc_zeroed(layout)
}

/// [`tail_alloc`] for `std::alloc::realloc`.
///
/// # Safety
/// As `std::alloc::realloc`.
#[inline(never)]
pub unsafe fn tail_realloc(ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
    std::alloc::realloc(ptr, layout, new_size)
}

/// A block of `n` bytes from `allocator`'s own methods, called through a
/// trait object, so without the shims: `alloc_zeroed` if `zeroed`, else
/// `alloc` and, if `grow`, `realloc` to `2 * n`. The vtable, and with it a
/// default `alloc_zeroed`, is compiled where the trait object is made.
///
/// # Safety
/// `allocator` must be the global allocator.
#[inline(never)]
pub unsafe fn dyn_block(
    allocator: &dyn std::alloc::GlobalAlloc,
    n: usize,
    zeroed: bool,
    grow: bool,
) -> Vec<u8> {
    // SAFETY: passed on from the caller.
    unsafe { block_from(allocator, n, zeroed, grow) }
}

/// [`dyn_block`] with a generic allocator, instantiated in the caller's
/// crate.
///
/// # Safety
/// As for [`dyn_block`].
#[inline(never)]
pub unsafe fn generic_block<A: std::alloc::GlobalAlloc>(
    allocator: &A,
    n: usize,
    zeroed: bool,
    grow: bool,
) -> Vec<u8> {
    // SAFETY: passed on from the caller.
    unsafe { block_from(allocator, n, zeroed, grow) }
}

/// The body of [`dyn_block`] and [`generic_block`], inlined into each, so
/// that each stays the frame that calls the allocator.
///
/// # Safety
/// As for [`dyn_block`].
#[inline(always)]
unsafe fn block_from<A: std::alloc::GlobalAlloc + ?Sized>(
    allocator: &A,
    n: usize,
    zeroed: bool,
    grow: bool,
) -> Vec<u8> {
    let layout = std::alloc::Layout::array::<u8>(n).unwrap();
    // SAFETY: non-zero size; checked for null; `realloc` gets the block's
    // layout; the `Vec` owns a block of its capacity, alignment 1, from the
    // global allocator.
    unsafe {
        let mut p = if zeroed {
            allocator.alloc_zeroed(layout)
        } else {
            allocator.alloc(layout)
        };
        assert!(!p.is_null());
        let mut capacity = n;
        if grow {
            p = allocator.realloc(black_box(p), layout, 2 * n);
            assert!(!p.is_null());
            capacity = 2 * n;
        }
        black_box(Vec::from_raw_parts(p, 0, capacity))
    }
}

/// `Vec::reserve_exact` of a `Vec` with a block already: a reallocation
/// through the growth path.
#[inline(never)]
pub fn reserve_more(v: &mut Vec<u8>, extra: usize) {
    v.reserve_exact(black_box(extra));
}

/// `v`'s block reallocated to `new_size` bytes through `allocator`'s own
/// `realloc`, called through a trait object.
///
/// # Safety
/// `allocator` must be the global allocator.
#[inline(never)]
pub unsafe fn dyn_realloc(
    allocator: &dyn std::alloc::GlobalAlloc,
    v: Vec<u8>,
    new_size: usize,
) -> Vec<u8> {
    let mut v = std::mem::ManuallyDrop::new(v);
    let layout = std::alloc::Layout::array::<u8>(v.capacity()).unwrap();
    // SAFETY: the block is `v`'s, from the global allocator, with `layout`;
    // checked for null; the new `Vec` owns it with its new size.
    unsafe {
        let p = allocator.realloc(v.as_mut_ptr(), layout, new_size);
        assert!(!p.is_null());
        black_box(Vec::from_raw_parts(p, 0, new_size))
    }
}
