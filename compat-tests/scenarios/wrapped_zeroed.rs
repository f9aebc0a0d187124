//! The program's own `GlobalAlloc` around `dhat::Alloc`, its methods kept
//! out of line, with no `alloc_zeroed` of its own: a zeroed allocation runs
//! the trait's default method, which calls the wrapper's `alloc`. Raw
//! zeroed and plain allocations below frame limits, in an optimised build.
//! The wrapper is `common/wrapped.rs`'s, the body `common/zeroed_raw.rs`.
#[path = "common/wrapped.rs"]
mod wrapped;

#[global_allocator]
static ALLOC: wrapped::Counting = wrapped::Counting;

#[path = "common/zeroed_raw.rs"]
mod zeroed_raw;

fn main() {
    zeroed_raw::run("wrapped-zeroed", &[5, 6, 8]);
}
