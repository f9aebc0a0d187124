//! compat: dhat-duplicate-printed-frames
//! dhat issue #29: a loop the compiler unrolls gives each copy its own
//! program point, so several PPs print the same function (file:line) list
//! and differ only in their instruction addresses. Also an inlined helper
//! called twice on one line.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[inline(always)]
fn boxed(value: u64) -> Box<u64> {
    Box::new(value)
}

fn main() {
    println!("start");
    let profiler = dhat::Profiler::builder().file_name("dup.json").build();
    for i in 0..5 {
        let b = Box::new(i as u64);
        std::hint::black_box(&b);
    }
    let pair = (boxed(1), boxed(2));
    std::hint::black_box(&pair);
    println!("stats: {:?}", dhat::HeapStats::get());
    drop(profiler);
}
