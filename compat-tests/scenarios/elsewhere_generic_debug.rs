//! compat: profile=debug
//! Allocations made by another crate's generic functions, and by its other
//! functions compiled as part of the program, in an unoptimised build: the
//! program's crate then takes the standard library's generic allocation code
//! from whichever dependency exports an instance (Rust's shared generics),
//! and dhat's dependencies export other ones than ours. The body is in
//! `common/elsewhere_shapes.rs`.
#[path = "common/elsewhere_shapes.rs"]
mod elsewhere_shapes;

fn main() {
    elsewhere_shapes::run(elsewhere_shapes::GENERIC | elsewhere_shapes::LOCAL);
}
