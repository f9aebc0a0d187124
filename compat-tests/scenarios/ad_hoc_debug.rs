//! compat: profile=debug
//! Ad hoc events in an unoptimised build, at the bottom of a 12-deep
//! recursion and from a closure, under frame limits of 4, 5 and 10: the
//! event's own frame comes first, and the limit counts it as dhat does.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn descend(depth: usize, weight: usize) {
    if depth == 0 {
        dhat::ad_hoc_event(weight);
    } else {
        descend(depth - 1, weight);
        std::hint::black_box(depth);
    }
}

fn main() {
    for limit in [4, 5, 10] {
        let profiler = dhat::Profiler::builder()
            .ad_hoc()
            .trim_backtraces(Some(limit))
            .file_name(format!("ad-hoc-{limit}.json"))
            .build();
        descend(12, 3);
        descend(2, 5);
        let record = |weight| dhat::ad_hoc_event(weight);
        record(7);
        record(11);
        dhat::ad_hoc_event(13);
        println!("limit {limit}: {:?}", dhat::AdHocStats::get());
        drop(profiler);
    }
}
