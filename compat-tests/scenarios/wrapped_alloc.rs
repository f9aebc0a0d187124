//! A wrapper whose methods are frames of their own, in an optimised build.
//! The body is in `common/wrapped.rs`.
#[path = "common/wrapped.rs"]
mod wrapped;

#[global_allocator]
static ALLOC: wrapped::Counting = wrapped::Counting;

fn main() {
    wrapped::run();
    let calls = wrapped::CALLS.load(std::sync::atomic::Ordering::Relaxed);
    println!("calls > 0: {}", calls > 0);
}
