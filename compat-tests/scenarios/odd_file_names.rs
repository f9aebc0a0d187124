//! File names dhat takes as given and prints with `to_string_lossy`: an
//! empty name, `.`, a name ending in `/`, names with spaces, a newline and
//! non-ASCII letters, a name that is not UTF-8, a `./` prefix and a path
//! through `..`, and a relative name whose directory is created only after
//! the profiler started (the path is resolved when the file is written).
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

fn profile(name: impl AsRef<std::path::Path>, bytes: usize) {
    let profiler = dhat::Profiler::builder().file_name(name).build();
    let v = vec![7u8; bytes];
    drop(v);
    drop(profiler);
}

fn main() {
    profile("", 1);
    profile(".", 2);
    profile("trailing/", 3);
    profile("with space.json", 4);
    profile("new\nline.json", 5);
    profile("größe.json", 6);
    profile(OsString::from_vec(b"bad-\xff-utf8.json".to_vec()), 7);
    profile("./dot-prefixed.json", 8);
    std::fs::create_dir("up").unwrap();
    profile("up/../through-parent.json", 9);

    let late = dhat::Profiler::builder()
        .ad_hoc()
        .file_name("later/late.json")
        .build();
    dhat::ad_hoc_event(10);
    std::fs::create_dir("later").unwrap();
    drop(late);

    let mut names: Vec<String> = std::fs::read_dir(".")
        .unwrap()
        .map(|entry| format!("{:?}", entry.unwrap().file_name()))
        .collect();
    names.sort();
    println!("files: {names:?}");
    common::list_files("end");
}
