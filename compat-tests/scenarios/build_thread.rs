//! A profiler built on a spawned thread and returned to main, which
//! allocates; then one built on main and dropped on another thread while
//! that thread allocates too.
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
fn level2(n: usize) -> Vec<u8> {
    let v = make(n);
    std::hint::black_box(v)
}

fn main() {
    let profiler = std::thread::spawn(|| {
        dhat::Profiler::builder()
            .file_name("built-elsewhere.json")
            .build()
    })
    .join()
    .unwrap();
    let a = make(100);
    let b = level2(200);
    println!("stats: {:?}", dhat::HeapStats::get());
    drop(a);
    drop(profiler);
    drop(b);

    let profiler = dhat::Profiler::builder()
        .file_name("dropped-elsewhere.json")
        .build();
    let c = make(300);
    std::thread::spawn(move || {
        let d = level2(50);
        println!("in thread: {:?}", dhat::HeapStats::get());
        drop(profiler);
        drop(d);
    })
    .join()
    .unwrap();
    drop(c);
    common::outcome("stats after", dhat::HeapStats::get);
    common::list_files("end");
}
