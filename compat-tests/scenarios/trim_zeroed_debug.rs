//! compat: profile=debug
//! Raw zeroed and plain allocations below frame limits in an unoptimised
//! build, where the default `GlobalAlloc::alloc_zeroed` that dhat's zeroed
//! allocations run is a frame of its own. The body is in
//! `common/zeroed_raw.rs`.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[path = "common/zeroed_raw.rs"]
mod zeroed_raw;

fn main() {
    zeroed_raw::run("zeroed", &[4, 5, 6, 8]);
}
