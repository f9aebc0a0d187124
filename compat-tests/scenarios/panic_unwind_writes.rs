//! compat: exit=101
//! An ordinary panic in a non-testing heap profile: unwinding drops the
//! profiler, which still prints the summary and writes the default file.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let _profiler = dhat::Profiler::new_heap();
    let v = vec![3u8; 300];
    std::hint::black_box(&v);
    let index = std::hint::black_box(7usize);
    let small = [1u8, 2, 3];
    println!("value {}", small[index % 4 + 3]);
}
