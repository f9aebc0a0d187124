//! compat: profile=debug
//! An unoptimised build, as `cargo test` and `cargo run` make: the
//! allocator shim is a frame of its own there, and dhat counts it towards
//! `trim_backtraces`. The body is in `common/trim_frames.rs`.
#[path = "common/trim_frames.rs"]
mod trim_frames;

fn main() {
    trim_frames::run();
}
