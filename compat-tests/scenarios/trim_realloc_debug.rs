//! compat: profile=debug
//! Reallocation at stacks deeper than the frame limit, in an unoptimised
//! build, where the allocator shims are frames of their own. The body is in
//! `common/realloc_trim.rs`.
#[path = "common/realloc_trim.rs"]
mod realloc_trim;

fn main() {
    realloc_trim::run();
}
