//! The body of the scenarios `debug_frames` and `optimised_deps`, which build
//! it with different Cargo profiles: two boxes from two functions and a
//! `vec!`, then a box at the bottom of a 12-deep recursion, under Some(4),
//! Some(5) and Some(10). At Some(4) dhat keeps so few frames that the two
//! boxes share a program point.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[inline(never)]
fn first_box() -> Box<[u64; 3]> {
    Box::new([1; 3])
}

#[inline(never)]
fn second_box() -> Box<[u64; 3]> {
    Box::new([2; 3])
}

#[inline(never)]
fn descend(depth: usize) -> Box<[u64; 3]> {
    if depth == 0 {
        Box::new([0; 3])
    } else {
        let block = descend(depth - 1);
        std::hint::black_box(depth);
        block
    }
}

pub fn run() {
    for limit in [4, 5, 10] {
        let profiler = dhat::Profiler::builder()
            .trim_backtraces(Some(limit))
            .file_name(format!("trim-{limit}.json"))
            .build();
        let kept = (
            first_box(),
            second_box(),
            vec![7u32; 5],
            descend(std::hint::black_box(12)),
        );
        println!("trim {limit}: {:?}", dhat::HeapStats::get());
        drop(profiler);
        drop(kept);
    }
}
