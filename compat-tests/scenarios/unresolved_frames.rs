//! compat: dhat-repeated-fs
//! dhat issue #29 made visible: two allocation stacks that differ only in
//! frames without symbols. A C function (scenarios/native, compiled and
//! stripped of its local symbols by the packages' build script) reaches one
//! of two static functions through a single indirect call, and each calls
//! back into Rust, which allocates. dhat keys program points by instruction
//! addresses, so it records two points, but prints nothing for the frames
//! it cannot name: both points get the same `fs` list, and DHAT's viewer
//! refuses the file ("data file contains a repeated location"). Ours prints
//! every frame, with its address, and merges identical lists anyway, so the
//! viewer must accept it.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;
use std::os::raw::c_int;

// Built by the packages' build script into their OUT_DIR (on the search path).
#[link(name = "unresolved_paths", kind = "static")]
extern "C" {
    /// Calls `callback` through `path_a` (`which` even) or `path_b` (odd).
    fn dup_frames_run(which: c_int, callback: extern "C" fn());
}

/// The one allocation site both paths reach.
extern "C" fn allocate() {
    let block = black_box(Box::new([7u8; 48]));
    drop(block);
}

/// One call instruction for both paths, so the frames below the C code
/// carry the same addresses in both stacks. The loop's end is opaque to the
/// optimiser, so it cannot be unrolled into two calls.
#[inline(never)]
fn through_both_paths() {
    let mut which: c_int = 0;
    loop {
        // SAFETY: `dup_frames_run` only calls `allocate`, which cannot unwind.
        unsafe { dup_frames_run(black_box(which), allocate) };
        which += 1;
        if black_box(which) >= 2 {
            break;
        }
    }
}

fn main() {
    println!("start");
    let profiler = dhat::Profiler::builder()
        .file_name("unresolved.json")
        .build();
    through_both_paths();
    println!("stats: {:?}", dhat::HeapStats::get());
    drop(profiler);
    common::list_files("end");
}
