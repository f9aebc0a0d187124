//! compat: profile=debug
//! Raw zeroed and plain allocations below frame limits in an unoptimised
//! build, where the default `GlobalAlloc::alloc_zeroed` that dhat's zeroed
//! allocations run is a frame of its own. The body is in
//! `common/zeroed_raw.rs`.
#[path = "common/zeroed_raw.rs"]
mod zeroed_raw;

fn main() {
    zeroed_raw::run();
}
