//! A file name that cannot be created: the error line replaces the save line
//! and nothing panics. Then a heap profiler and an ad hoc profiler in
//! sequence, one more unwritable, one written to a nested relative path.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let profiler = dhat::Profiler::builder()
        .file_name("/nonexistent/dir/x.json")
        .build();
    let v = vec![5u8; 77];
    drop(profiler);
    drop(v);
    println!("first done");

    let ad_hoc = dhat::Profiler::builder()
        .ad_hoc()
        .file_name("/nonexistent/dir/y.json")
        .build();
    dhat::ad_hoc_event(6);
    drop(ad_hoc);

    std::fs::create_dir("sub").unwrap();
    let nested = dhat::Profiler::builder()
        .file_name("sub/../sub/nested.json")
        .build();
    let w = vec![1u16; 3];
    drop(w);
    drop(nested);

    let directory = dhat::Profiler::builder().file_name("sub").build();
    drop(directory);
    common::list_files("end");
}
