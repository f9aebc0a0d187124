//! compat: profile=optimised-deps
//! The program unoptimised and its dependencies optimised
//! (`[profile.dev.package."*"] opt-level = 3`), a common way to speed up
//! debug builds: the allocator shim, compiled with the program, keeps a
//! frame of its own, though dhat's crate and ours are optimised. The body
//! is in `common/trim_frames.rs`.
#[path = "common/trim_frames.rs"]
mod trim_frames;

fn main() {
    trim_frames::run();
}
