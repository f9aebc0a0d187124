//! The body of the scenarios `elsewhere_shapes`, `elsewhere_shapes_debug`,
//! `elsewhere_shapes_deps`, `elsewhere_shapes_lines` and
//! `elsewhere_generic_debug`: allocations of many shapes made in a crate
//! other than the program's (`other-crate`), at the bottom of a recursion
//! deeper than the frame limit, from two callers, under Some(4), Some(5),
//! Some(6) and Some(8).
//!
//! dhat's limit counts every frame between its `Alloc` and the allocating
//! code, so a path that keeps one frame more or fewer there (a shim called as
//! a function, a generic instance compiled in the program's crate, `Box`,
//! `Rc` and `HashMap` paths, growth, shrinking, direct `std::alloc` calls)
//! moves the last frame each point keeps, and with it which stacks merge.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::any::Any;
use std::hint::black_box;

/// Which allocations [`descend`] makes.
#[derive(Clone, Copy, PartialEq)]
pub enum Shapes {
    /// Those of `other-crate`'s functions that are not generic, so compiled
    /// there.
    Compiled,
    /// Those of its generic functions, instantiated in the program's crate.
    Generic,
    /// Both.
    All,
}

/// Recurses `n` levels, then makes one allocation of each shape, sized from
/// `size` so that the two callers' points differ in their numbers.
#[inline(never)]
fn descend(n: usize, size: usize, shapes: Shapes, held: &mut Vec<Box<dyn Any>>) {
    if black_box(n) == 0 {
        // Each result is boxed in the program's crate, after the allocation
        // the scenario is about; the box is a point of its own.
        if shapes != Shapes::Compiled {
            held.push(Box::new(other_crate::generic_vec(0u8, size)));
            held.push(Box::new(other_crate::generic_vec(1u8, size + 1)));
            held.push(Box::new(other_crate::generic_grown_vec::<u16>(size + 3)));
        }
        if shapes != Shapes::Generic {
            held.push(Box::new(other_crate::grown_vec(size + 2)));
            held.push(Box::new(other_crate::shrunk_vec(size + 4)));
            held.push(Box::new(other_crate::boxed_zero_array()));
            held.push(Box::new(other_crate::boxed_filled_array()));
            held.push(Box::new(other_crate::boxed_zeroed_slice(size + 5)));
            held.push(Box::new(other_crate::formatted(size + 6)));
            held.push(Box::new(other_crate::map_of(size as u64 / 8)));
            held.push(Box::new(other_crate::shared(size as u8)));
            held.push(Box::new(other_crate::raw_realloc(size + 7)));
            held.push(Box::new(other_crate::raw_zeroed(size + 8)));
            held.push(Box::new(other_crate::btree_of(size as u64 / 4)));
            held.push(Box::new(other_crate::shared_zeroed(size + 9)));
            held.push(Box::new(other_crate::copied(size / 10)));
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
    let mut held: Vec<Box<dyn Any>> = Vec::with_capacity(128);
    let limits: &[usize] = black_box(&[4, 5, 6, 8]);
    for &limit in limits {
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
