//! compat: profile=line-tables
//! Allocations of many shapes made in another crate, by its own functions
//! and by generic ones instantiated here, in an optimised build with line
//! tables only. The body is in `common/elsewhere_shapes.rs`.
#[path = "common/elsewhere_shapes.rs"]
mod elsewhere_shapes;

fn main() {
    elsewhere_shapes::run(elsewhere_shapes::ALL);
}
