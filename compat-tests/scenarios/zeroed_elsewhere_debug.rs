//! compat: profile=debug
//! Zeroed and plain allocations made in another crate, in an unoptimised
//! build, where both shims and the default `alloc_zeroed` keep frames of
//! their own. The body is in `common/zeroed_elsewhere.rs`.
#[path = "common/zeroed_elsewhere.rs"]
mod zeroed_elsewhere;

fn main() {
    zeroed_elsewhere::run();
}
