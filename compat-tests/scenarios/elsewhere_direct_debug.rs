//! compat: profile=debug
//! The global allocator's methods called without the shims, from another
//! crate through a trait object and a generic function, and from the
//! program's own generic function, and reallocations of blocks from before
//! the profile, in an unoptimised build, where the plain shim keeps a frame
//! that the direct calls' stacks do not have. The body is in
//! `common/elsewhere_shapes.rs`.
#[path = "common/elsewhere_shapes.rs"]
mod elsewhere_shapes;

fn main() {
    elsewhere_shapes::run(elsewhere_shapes::DIRECT | elsewhere_shapes::CARRIED);
}
