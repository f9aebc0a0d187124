//! Reallocation at stacks deeper than the frame limit, in an optimised
//! build. The body is in `common/realloc_trim.rs`.
#[path = "common/realloc_trim.rs"]
mod realloc_trim;

fn main() {
    realloc_trim::run();
}
