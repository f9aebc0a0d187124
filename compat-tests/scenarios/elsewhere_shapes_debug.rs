//! compat: profile=debug
//! Allocations of many shapes made in another crate by its own functions,
//! in an unoptimised build. Its generic functions are in
//! `elsewhere_generic_debug`. The body is in `common/elsewhere_shapes.rs`.
#[path = "common/elsewhere_shapes.rs"]
mod elsewhere_shapes;

fn main() {
    elsewhere_shapes::run(elsewhere_shapes::COMPILED);
}
