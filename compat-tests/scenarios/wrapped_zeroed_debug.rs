//! compat: profile=debug
//! `wrapped_zeroed` unoptimised: the wrapper's `alloc`, the default
//! `alloc_zeroed` that calls it and both shims are frames of their own, and
//! the zeroed and plain paths share the wrapper's `alloc` frame. The wrapper
//! is `common/wrapped.rs`'s, the body `common/zeroed_raw.rs`.
#[path = "common/wrapped.rs"]
mod wrapped;

#[global_allocator]
static ALLOC: wrapped::Counting = wrapped::Counting;

#[path = "common/zeroed_raw.rs"]
mod zeroed_raw;

fn main() {
    zeroed_raw::run("wrapped-zeroed", &[5, 6, 8]);
}
