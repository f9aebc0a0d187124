//! Deep recursion (40 levels) allocating at the bottom, under each frame
//! limit in turn: Some(2) (clamped to 4), Some(4), Some(10), None and
//! Some(usize::MAX). Five profilers run one after another.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

// The boxes are the allocations under test.
#[allow(clippy::vec_box)]
#[inline(never)]
fn descend(depth: usize, out: &mut Vec<Box<[u64; 3]>>) {
    if depth == 0 {
        out.push(Box::new([depth as u64; 3]));
        out.push(Box::new([1; 3]));
    } else {
        descend(depth - 1, out);
        std::hint::black_box(depth);
    }
}

fn main() {
    println!("start");
    let mut out = Vec::with_capacity(64);
    for (name, limit) in [
        ("2", Some(2)),
        ("4", Some(4)),
        ("10", Some(10)),
        ("none", None),
        ("max", Some(usize::MAX)),
    ] {
        let profiler = dhat::Profiler::builder()
            .trim_backtraces(limit)
            .file_name(format!("trim-{name}.json"))
            .build();
        descend(std::hint::black_box(40), &mut out);
        let kept = out.pop();
        out.clear();
        println!("trim {name}: {:?}", dhat::HeapStats::get());
        drop(profiler);
        drop(kept);
    }
}
