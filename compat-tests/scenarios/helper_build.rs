//! The profiler is built inside a helper function that then does the work,
//! so the frames shared between the start stack and the first allocation
//! include the caller of the helper (bottom trimming goes above main).
//! Then a profiler built in main with a helper-made builder, and one whose
//! first tracked event is a realloc of a block from before it.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[inline(never)]
fn make(n: usize) -> Vec<u8> {
    std::hint::black_box(vec![7u8; n])
}

#[inline(never)]
fn work() -> usize {
    let a = make(10);
    let b = make(20);
    let mut c = Vec::with_capacity(4);
    c.push(a);
    c.push(b);
    std::hint::black_box(&c);
    c.len()
}

#[inline(never)]
fn run(name: &str) -> usize {
    let _p = dhat::Profiler::builder().file_name(name).build();
    let n = work();
    let extra = make(33);
    n + extra.len()
}

#[inline(never)]
fn start(name: &str) -> dhat::Profiler {
    dhat::Profiler::builder().file_name(name).trim_backtraces(Some(6)).build()
}

fn main() {
    println!("run: {}", run("run.json"));
    {
        let _p = start("start.json");
        let n = work();
        println!("work: {n}");
    }
    let mut before: Vec<u64> = Vec::with_capacity(2);
    before.push(1);
    {
        let _p = dhat::Profiler::builder().file_name("realloc-first.json").build();
        before.reserve(50);
        let v = make(5);
        println!("stats: {:?}", dhat::HeapStats::get());
        drop(v);
    }
    std::hint::black_box(&before);
    common::list_files("end");
}
