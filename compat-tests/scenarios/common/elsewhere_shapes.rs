//! The body of the scenarios `elsewhere_shapes`, `elsewhere_shapes_debug`,
//! `elsewhere_shapes_deps`, `elsewhere_shapes_lines`, `elsewhere_shapes_size`,
//! `elsewhere_generic_debug` and `elsewhere_direct_debug`: allocations of
//! many shapes made in a crate other than the program's (`other-crate`), at
//! the bottom of a recursion deeper than the frame limit, from two callers,
//! under Some(4), Some(5), Some(6) and Some(8).
//!
//! dhat's limit counts every frame between its `Alloc` and the allocating
//! code, so a path that keeps one frame more or fewer there (a shim called as
//! a function, a generic instance compiled in the program's crate, `Box`,
//! `Rc` and `HashMap` paths, growth, shrinking, direct `std::alloc` calls,
//! the allocator's methods called without the shims, reallocations of
//! blocks from before the profile) moves the last frame each point keeps,
//! and with it which stacks merge.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::alloc::Layout;
use std::any::Any;
use std::hint::black_box;

/// Which allocations [`descend`] makes, as a set of the flags below.
pub type Shapes = u8;
/// `other-crate`'s functions that are not generic, so compiled there.
pub const COMPILED: Shapes = 1;
/// Its generic functions, instantiated in the program's crate.
pub const GENERIC: Shapes = 2;
/// Its functions that are not generic, compiled in the program's crate too
/// (its source as a module here), where the shims are inlined.
pub const LOCAL: Shapes = 4;
/// The global allocator's own methods, called without the shims: from
/// `other-crate` through a trait object and a generic function, and here
/// ([`local`]'s generic function).
pub const DIRECT: Shapes = 8;
/// Reallocations of blocks allocated before the profile started, which dhat
/// gives a stack of their own: through `other-crate`'s growth path, its
/// tail-called `std::alloc::realloc`, the allocator's `realloc` through a
/// trait object, and [`local`]'s growth path.
pub const CARRIED: Shapes = 16;
/// All of the above.
pub const ALL: Shapes = COMPILED | GENERIC | LOCAL | DIRECT | CARRIED;

/// Blocks allocated before each profile, for [`CARRIED`].
const CARRIED_PER_PROFILE: usize = 12;

thread_local! {
    static CARRIED_BLOCKS: std::cell::RefCell<Vec<Vec<u8>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// One of the blocks allocated before the profile.
fn carried() -> Vec<u8> {
    CARRIED_BLOCKS.with(|blocks| blocks.borrow_mut().pop().unwrap())
}

/// `other-crate`'s source, compiled as part of the program.
#[allow(dead_code)]
#[path = "../../other-crate/src/lib.rs"]
mod local;

/// A block of `n` bytes from `alloc` or `alloc_zeroed`, reallocated to `2 *
/// n` through `realloc` if given, all three as `std::alloc`'s.
type RawFns = (
    unsafe fn(Layout) -> *mut u8,
    Option<unsafe fn(*mut u8, Layout, usize) -> *mut u8>,
);

/// Runs `fns` (see [`RawFns`]) for `n` bytes, and hands the block to a `Vec`.
fn raw_block(fns: RawFns, n: usize) -> Vec<u8> {
    let layout = Layout::array::<u8>(n).unwrap();
    // SAFETY: non-zero size; checked for null; `realloc` gets the block's
    // layout; the `Vec` owns a block of its capacity, alignment 1, from the
    // global allocator.
    unsafe {
        let mut p = (fns.0)(layout);
        assert!(!p.is_null());
        let mut capacity = n;
        if let Some(realloc) = fns.1 {
            p = realloc(black_box(p), layout, 2 * n);
            assert!(!p.is_null());
            capacity = 2 * n;
        }
        Vec::from_raw_parts(p, 0, capacity)
    }
}

/// Each of `other-crate`'s (or [`local`]'s) shapes that is not generic, from
/// `$krate`.
macro_rules! compiled_shapes {
    ($krate:ident, $size:expr, $held:expr) => {{
        let size: usize = $size;
        let held: &mut Vec<Box<dyn Any>> = $held;
        held.push(Box::new($krate::grown_vec(size + 2)));
        held.push(Box::new($krate::shrunk_vec(size + 4)));
        held.push(Box::new($krate::boxed_zero_array()));
        held.push(Box::new($krate::boxed_filled_array()));
        held.push(Box::new($krate::boxed_zeroed_slice(size + 5)));
        held.push(Box::new($krate::formatted(size + 6)));
        held.push(Box::new($krate::map_of(size as u64 / 8)));
        held.push(Box::new($krate::shared(size as u8)));
        held.push(Box::new($krate::raw_realloc(size + 7)));
        held.push(Box::new($krate::raw_zeroed(size + 8)));
        held.push(Box::new($krate::btree_of(size as u64 / 4)));
        held.push(Box::new($krate::shared_zeroed(size + 9)));
        held.push(Box::new($krate::copied(size / 10)));
        held.push(Box::new(raw_block(($krate::tail_alloc, None), size + 10)));
        held.push(Box::new(raw_block(
            ($krate::tail_alloc_zeroed, None),
            size + 11,
        )));
        held.push(Box::new(raw_block(
            ($krate::tail_alloc, Some($krate::tail_realloc)),
            size + 12,
        )));
    }};
}

/// Recurses `n` levels, then makes one allocation of each shape, sized from
/// `size` so that the two callers' points differ in their numbers.
#[inline(never)]
fn descend(n: usize, size: usize, shapes: Shapes, held: &mut Vec<Box<dyn Any>>) {
    if black_box(n) == 0 {
        // Each result is boxed in the program's crate, after the allocation
        // the scenario is about; the box is a point of its own.
        if shapes & GENERIC != 0 {
            held.push(Box::new(other_crate::generic_vec(0u8, size)));
            held.push(Box::new(other_crate::generic_vec(1u8, size + 1)));
            held.push(Box::new(other_crate::generic_grown_vec::<u16>(size + 3)));
        }
        if shapes & COMPILED != 0 {
            compiled_shapes!(other_crate, size, held);
        }
        if shapes & LOCAL != 0 {
            compiled_shapes!(local, size + 1000, held);
        }
        if shapes & DIRECT != 0 {
            // SAFETY: `ALLOC` is the global allocator.
            unsafe {
                for (i, (zeroed, grow)) in [(false, false), (true, false), (false, true)]
                    .into_iter()
                    .enumerate()
                {
                    held.push(Box::new(other_crate::dyn_block(
                        &ALLOC,
                        size + 20 + i,
                        zeroed,
                        grow,
                    )));
                    held.push(Box::new(other_crate::generic_block(
                        &ALLOC,
                        size + 30 + i,
                        zeroed,
                        grow,
                    )));
                    held.push(Box::new(local::generic_block(
                        &ALLOC,
                        size + 40 + i,
                        zeroed,
                        grow,
                    )));
                }
            }
        }
        if shapes & CARRIED != 0 {
            let mut v = carried();
            other_crate::reserve_more(&mut v, size + 50);
            held.push(Box::new(v));
            let mut v = carried();
            local::reserve_more(&mut v, size + 51);
            held.push(Box::new(v));
            let mut v = std::mem::ManuallyDrop::new(carried());
            let layout = Layout::array::<u8>(v.capacity()).unwrap();
            // SAFETY: the block is `v`'s, from the global allocator, with
            // `layout`; checked for null; the new `Vec` owns it.
            unsafe {
                let p = other_crate::tail_realloc(v.as_mut_ptr(), layout, size + 52);
                assert!(!p.is_null());
                held.push(Box::new(Vec::from_raw_parts(p, 0, size + 52)));
            }
            // SAFETY: `ALLOC` is the global allocator.
            held.push(Box::new(unsafe {
                other_crate::dyn_realloc(&ALLOC, carried(), size + 53)
            }));
        }
    } else {
        descend(n - 1, size, shapes, held);
        black_box(n);
    }
}

#[inline(never)]
fn from_a(n: usize, shapes: Shapes, held: &mut Vec<Box<dyn Any>>) {
    descend(n, 100, shapes, held);
    black_box(n);
}

#[inline(never)]
fn from_b(n: usize, shapes: Shapes, held: &mut Vec<Box<dyn Any>>) {
    descend(n, 200, shapes, held);
    black_box(n);
}

pub fn run(shapes: Shapes) {
    println!("start");
    // Room for every block, so that `held` never grows while profiled.
    let mut held: Vec<Box<dyn Any>> = Vec::with_capacity(256);
    let limits: &[usize] = black_box(&[4, 5, 6, 8]);
    if shapes & CARRIED != 0 {
        CARRIED_BLOCKS.with(|blocks| blocks.borrow_mut().reserve(CARRIED_PER_PROFILE));
    }
    for &limit in limits {
        if shapes & CARRIED != 0 {
            CARRIED_BLOCKS.with(|blocks| {
                let mut blocks = blocks.borrow_mut();
                while blocks.len() < CARRIED_PER_PROFILE {
                    blocks.push(Vec::with_capacity(16));
                }
            });
        }
        let profiler = dhat::Profiler::builder()
            .trim_backtraces(Some(limit))
            .file_name(format!("shapes-{limit}.json"))
            .build();
        from_a(black_box(limit + 2), shapes, &mut held);
        from_b(black_box(limit + 2), shapes, &mut held);
        from_a(black_box(2), shapes, &mut held);
        println!("limit {limit}, held: {:?}", dhat::HeapStats::get());
        held.clear();
        println!("limit {limit}, end: {:?}", dhat::HeapStats::get());
        drop(profiler);
    }
}
