//! Zeroed and plain allocations made in another crate, in an optimised
//! build, where only the zeroed shim keeps a frame of its own. The body is
//! in `common/zeroed_elsewhere.rs`.
#[path = "common/zeroed_elsewhere.rs"]
mod zeroed_elsewhere;

fn main() {
    zeroed_elsewhere::run();
}
