//! The annotated heap run of the behaviour notes: alloc, grow, shrink, free,
//! a loop of short-lived boxes and a block live at the end, with the stats
//! checked after every step.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[inline(never)]
fn make_vec(len: usize) -> Vec<u8> {
    vec![7u8; len]
}

fn show(step: &str) -> dhat::HeapStats {
    let stats = dhat::HeapStats::get();
    println!("{step}: {stats:?}");
    stats
}

fn main() {
    println!("start");
    let profiler = dhat::Profiler::builder()
        .file_name("heap_basic.json")
        .build();
    let zero = show("empty");
    assert_eq!(
        (zero.total_blocks, zero.curr_bytes, zero.max_bytes),
        (0, 0, 0)
    );
    let a = make_vec(100);
    let mut b = Vec::<u8>::with_capacity(10);
    b.extend_from_slice(&[1; 10]);
    b.reserve_exact(30);
    let s = show("grown");
    assert_eq!(
        (
            s.total_blocks,
            s.total_bytes,
            s.curr_blocks,
            s.curr_bytes,
            s.max_blocks,
            s.max_bytes
        ),
        (3, 150, 2, 140, 2, 140)
    );
    drop(a);
    b.shrink_to(20);
    let s = show("shrunk");
    assert_eq!(
        (
            s.total_blocks,
            s.total_bytes,
            s.curr_blocks,
            s.curr_bytes,
            s.max_blocks,
            s.max_bytes
        ),
        (4, 170, 1, 20, 2, 140)
    );
    for i in 0..5 {
        let boxed = Box::new(i as u64);
        std::hint::black_box(&boxed);
    }
    let s = show("boxes");
    assert_eq!(
        (s.total_blocks, s.total_bytes, s.curr_blocks, s.curr_bytes),
        (9, 210, 1, 20)
    );
    let keep = Box::new([0u8; 64]);
    std::hint::black_box(&keep);
    let s = show("end");
    assert_eq!(
        (
            s.total_blocks,
            s.total_bytes,
            s.curr_blocks,
            s.curr_bytes,
            s.max_blocks,
            s.max_bytes
        ),
        (10, 274, 2, 84, 2, 140)
    );
    drop(profiler);
    drop(b);
    drop(keep);
}
