//! compat: profile=optimised-deps
//! Raw zeroed and plain allocations below frame limits, with the program
//! unoptimised and its dependencies (dhat's crate and ours) optimised. The
//! body is in `common/zeroed_raw.rs`.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[path = "common/zeroed_raw.rs"]
mod zeroed_raw;

fn main() {
    zeroed_raw::run("zeroed", &[4, 5, 6, 8]);
}
