//! Frame names that come from unusual symbols: `#[no_mangle]` and
//! `#[export_name]` functions (plain C names, no Rust path), non-ASCII and
//! raw identifiers, a trait's default method, methods of generic types with
//! const and lifetime parameters, `impl Trait for &T`, nested closures, and
//! a function pointer called through a `dyn Fn`.
#![allow(non_snake_case)]
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

#[no_mangle]
#[inline(never)]
pub extern "C" fn symbol_names_no_mangle(n: usize) -> usize {
    black_box(vec![1u8; n]).len()
}

#[export_name = "symbol_names_exported_under_another_name"]
#[inline(never)]
pub fn exported(n: usize) -> usize {
    black_box(vec![2u8; n]).len()
}

#[inline(never)]
fn größe_berechnen(n: usize) -> usize {
    black_box(vec![3u8; n]).len()
}

#[inline(never)]
fn r#match(n: usize) -> usize {
    black_box(vec![4u8; n]).len()
}

trait Maker {
    #[inline(never)]
    fn make_default(&self, n: usize) -> usize {
        black_box(vec![5u8; n]).len()
    }
}

struct Plain;
impl Maker for Plain {}

struct Holder<'a, T, const N: usize> {
    items: &'a [T; N],
}

impl<'a, T: Copy + Default, const N: usize> Holder<'a, T, N> {
    #[inline(never)]
    fn collect_twice(&self) -> usize {
        let mut v: Vec<T> = Vec::with_capacity(2 * N);
        v.extend_from_slice(self.items);
        v.extend_from_slice(self.items);
        black_box(v).len()
    }
}

trait Describe {
    fn describe(self) -> String;
}

impl<'a> Describe for &'a Plain {
    #[inline(never)]
    fn describe(self) -> String {
        black_box(format!("{:>20}", "plain"))
    }
}

#[inline(never)]
fn call_dyn(f: &dyn Fn(usize) -> usize, n: usize) -> usize {
    black_box(f(n))
}

fn main() {
    let profiler = dhat::Profiler::new_heap();
    let mut total = 0;
    total += symbol_names_no_mangle(11);
    total += exported(12);
    total += größe_berechnen(13);
    total += r#match(14);
    total += Plain.make_default(15);
    total += Holder { items: &[7u16; 3] }.collect_twice();
    total += Holder { items: &[7u64; 5] }.collect_twice();
    total += (&Plain).describe().len();
    let outer = |n: usize| {
        let inner = |m: usize| black_box(vec![6u8; m]).len();
        black_box(inner(n + 1))
    };
    total += black_box(outer(16));
    total += call_dyn(&|n| black_box(vec![8u8; n]).len(), 17);
    let pointer: fn(usize) -> usize = größe_berechnen;
    total += call_dyn(&pointer, 18);
    println!("total {total}");
    println!("{:?}", dhat::HeapStats::get());
    drop(profiler);
}
