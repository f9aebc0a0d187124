//! Debug output and sizes of every public type, the builder's stored
//! settings (including the clamp of small frame limits to 4) and the
//! equality/clone derives of the stats types.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    println!(
        "Alloc: {:?}, size {}",
        dhat::Alloc,
        std::mem::size_of::<dhat::Alloc>()
    );
    println!("Profiler size {}", std::mem::size_of::<dhat::Profiler>());
    println!("default builder: {:?}", dhat::Profiler::builder());
    let full = dhat::Profiler::builder()
        .ad_hoc()
        .testing()
        .file_name("x/y.json")
        .trim_backtraces(Some(2))
        .eprint_json();
    println!("full builder: {full:?}");
    for limit in [
        Some(0),
        Some(3),
        Some(4),
        Some(5),
        Some(10),
        None,
        Some(usize::MAX),
    ] {
        println!(
            "trim {limit:?}: {:?}",
            dhat::Profiler::builder().trim_backtraces(limit)
        );
    }
    println!(
        "path-like file names: {:?}",
        dhat::Profiler::builder().file_name(std::path::PathBuf::from("a b/c.json"))
    );

    let profiler = dhat::Profiler::builder().file_name("api.json").build();
    println!("running profiler: {:?}", &profiler);
    let boxed = Box::new([1u8; 48]);
    let stats = dhat::HeapStats::get();
    let copy = stats.clone();
    assert!(copy == stats);
    println!("heap stats: {stats:?}");
    println!(
        "fields: {} {} {} {} {} {}",
        stats.total_blocks,
        stats.total_bytes,
        stats.curr_blocks,
        stats.curr_bytes,
        stats.max_blocks,
        stats.max_bytes
    );
    drop(boxed);
    drop(profiler);

    let ad_hoc = dhat::Profiler::new_ad_hoc();
    dhat::ad_hoc_event(7);
    let stats = dhat::AdHocStats::get();
    assert!(stats.clone() == stats);
    println!(
        "ad hoc stats: {stats:?} ({} {})",
        stats.total_events, stats.total_units
    );
    println!("running ad hoc profiler: {ad_hoc:?}");
    drop(ad_hoc);
    common::list_files("end");
}
