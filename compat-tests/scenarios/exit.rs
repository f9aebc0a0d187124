//! compat: exit=3
//! std::process::exit with a live profiler writes nothing; a forgotten
//! profiler blocks a second one.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let p = dhat::Profiler::builder().file_name("forgotten.json").build();
    let v = vec![1u8; 10];
    std::mem::forget(p);
    common::outcome("second while forgotten", || {
        dhat::Profiler::builder().file_name("second.json").build()
    });
    println!("stats: {:?}", dhat::HeapStats::get());
    drop(v);
    common::list_files("before exit");
    let _q = dhat::Profiler::builder().file_name("unused.json");
    std::process::exit(3);
}
