//! A wrapper around `dhat::Alloc` with an `alloc_zeroed` of its own, which
//! calls `dhat::Alloc`'s (the trait's default method, which calls its
//! `alloc`): the zeroed path shares no wrapper frame with the plain one. Raw
//! zeroed and plain allocations below frame limits, in an optimised build.
//! The wrapper is `common/wrapped.rs`'s, the body `common/zeroed_raw.rs`.
#[path = "common/wrapped.rs"]
mod wrapped;

#[global_allocator]
static ALLOC: wrapped::CountingZeroed = wrapped::CountingZeroed;

#[path = "common/zeroed_raw.rs"]
mod zeroed_raw;

fn main() {
    zeroed_raw::run("forwarded-zeroed", &[5, 6, 8]);
}
