//! compat: profile=optimised-deps
//! Raw zeroed and plain allocations below frame limits, with the program
//! unoptimised and its dependencies (dhat's crate and ours) optimised. The
//! body is in `common/zeroed_raw.rs`.
#[path = "common/zeroed_raw.rs"]
mod zeroed_raw;

fn main() {
    zeroed_raw::run();
}
