//! ad_hoc_event during a heap profile is ignored; ad hoc profiling ignores
//! allocations; events from several threads are all counted; weight 0 and
//! a large weight.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[inline(never)]
fn event(weight: usize) {
    dhat::ad_hoc_event(weight);
    std::hint::black_box(weight);
}

fn main() {
    println!("start");
    let heap = dhat::Profiler::builder().file_name("heap.json").build();
    event(50);
    let v = vec![1u8; 10];
    println!("heap: {:?}", dhat::HeapStats::get());
    drop(v);
    drop(heap);

    let ad_hoc = dhat::Profiler::builder()
        .ad_hoc()
        .file_name("ad-hoc.json")
        .build();
    let handles: Vec<_> = (0..3)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..10 {
                    event(t * 10 + i);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    event(0);
    event(1 << 40);
    let w = vec![0u8; 4096];
    let stats = dhat::AdHocStats::get();
    println!("ad hoc: {stats:?}");
    drop(w);
    drop(ad_hoc);
}
