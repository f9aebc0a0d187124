//! compat: profile=optimised-deps
//! Allocations of many shapes made in another crate, by its own functions
//! (optimised) and by generic ones instantiated here (unoptimised), in an
//! unoptimised program. The allocator's methods called without the shims
//! are left to `elsewhere_direct_debug`. The body is in
//! `common/elsewhere_shapes.rs`.
#[path = "common/elsewhere_shapes.rs"]
mod elsewhere_shapes;

fn main() {
    elsewhere_shapes::run(
        elsewhere_shapes::COMPILED | elsewhere_shapes::GENERIC | elsewhere_shapes::LOCAL,
    );
}
