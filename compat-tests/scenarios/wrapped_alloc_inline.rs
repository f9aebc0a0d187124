//! A wrapper that only forwards, which the optimiser may inline.
//! The body is in `common/wrapped.rs`.
#[path = "common/wrapped.rs"]
mod wrapped;

#[global_allocator]
static ALLOC: wrapped::Forwarding = wrapped::Forwarding;

fn main() {
    wrapped::run();
}
