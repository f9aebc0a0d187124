//! compat: profile=debug
//! `forwarded_zeroed` unoptimised, where every method on both paths is a
//! frame of its own. The wrapper is `common/wrapped.rs`'s, the body
//! `common/zeroed_raw.rs`.
#[path = "common/wrapped.rs"]
mod wrapped;

#[global_allocator]
static ALLOC: wrapped::CountingZeroed = wrapped::CountingZeroed;

#[path = "common/zeroed_raw.rs"]
mod zeroed_raw;

fn main() {
    zeroed_raw::run("forwarded-zeroed", &[5, 6, 8]);
}
