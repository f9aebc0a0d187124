//! compat: exit=101
//! Ad hoc mode with testing and a frame cap of 4: a deep event and a
//! shallow one, then an uncaught failing assertion, which writes
//! `dhat-ad-hoc.json` and prints the ad hoc summary before the panic.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[inline(never)]
fn descend(depth: usize) {
    if depth == 0 {
        dhat::ad_hoc_event(7);
    } else {
        descend(depth - 1);
        std::hint::black_box(depth);
    }
}

fn main() {
    let _profiler = dhat::Profiler::builder()
        .ad_hoc()
        .testing()
        .trim_backtraces(Some(4))
        .build();
    descend(std::hint::black_box(20));
    dhat::ad_hoc_event(1_234_567);
    let stats = dhat::AdHocStats::get();
    println!("{stats:?}");
    dhat::assert_eq!(stats.total_events, 3);
}
