//! compat: profile=size
//! Allocations of many shapes made in another crate, by its own functions
//! and by generic ones instantiated here, in a build optimised for size,
//! where the program's crate takes the standard library's generic
//! allocation code from whichever dependency exports an instance, as
//! unoptimised. The body is in `common/elsewhere_shapes.rs`.
#[path = "common/elsewhere_shapes.rs"]
mod elsewhere_shapes;

fn main() {
    elsewhere_shapes::run(elsewhere_shapes::ALL);
}
