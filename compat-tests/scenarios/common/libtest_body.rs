//! The body of the libtest scenarios `libtest_capture` (optimised) and
//! `libtest_debug` (unoptimised, as `cargo test` builds): profilers inside
//! `#[test]` functions. Passing tests (a heap profile, an ad hoc one with
//! memory output, an unwritable file, a panic unwinding through a profiler
//! under `should_panic`) print nothing, since libtest shows a test's captured
//! output only when it fails; the failing testing-mode assertion's summary
//! appears in its captured output, before the panic message.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn a_heap_profile_passes() {
    let profiler = dhat::Profiler::builder().file_name("a-heap.json").build();
    let v = vec![1u8; 100];
    let w = vec![2u32; 10];
    drop(v);
    let stats = dhat::HeapStats::get();
    drop(profiler);
    drop(w);
    println!("a: {stats:?}");
}

#[test]
fn b_ad_hoc_and_memory_output() {
    let ad_hoc = dhat::Profiler::builder()
        .ad_hoc()
        .file_name("b-ad-hoc.json")
        .build();
    dhat::ad_hoc_event(5);
    dhat::ad_hoc_event(1_234);
    drop(ad_hoc);

    let mut heap = std::mem::ManuallyDrop::new(dhat::Profiler::new_heap());
    let kept = vec![7u64; 4];
    let json = heap.drop_and_get_memory_output();
    drop(kept);
    std::fs::write("b-memory.json", json).unwrap();
}

#[test]
fn c_testing_assertion_fails() {
    let _profiler = dhat::Profiler::builder()
        .testing()
        .file_name("c-testing.json")
        .build();
    let v = vec![3u16; 8];
    let stats = dhat::HeapStats::get();
    dhat::assert_eq!(stats.curr_blocks, 0, "{} bytes live", stats.curr_bytes);
    drop(v);
}

#[test]
fn d_unwritable_file() {
    let _profiler = dhat::Profiler::builder()
        .file_name("no-such-dir/d.json")
        .build();
    let v = vec![4u8; 9];
    drop(v);
}

#[test]
#[should_panic(expected = "boom")]
fn e_panic_unwinds_through_the_profiler() {
    let _profiler = dhat::Profiler::builder()
        .file_name("e-unwound.json")
        .build();
    let v = vec![5u8; 11];
    std::mem::forget(v);
    panic!("boom");
}
