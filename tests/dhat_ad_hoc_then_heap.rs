//! Ad hoc profilers first, then a heap profiler: the walker must still learn the allocator's
//! own frames when the heap profiler starts. Ad hoc mode walks no allocations, so if its
//! starts counted as calibration attempts, three of them would use all the process has,
//! and every heap stack would begin in the allocator shim.
#![cfg(all(
    feature = "dhat-compat",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::hint::black_box;

use mod_alloc::__private::walk;
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[inline(never)]
fn allocates_here() -> Vec<u8> {
    black_box(vec![7u8; 40])
}

#[test]
fn ad_hoc_profilers_leave_calibration_to_the_heap_profiler() {
    for _ in 0..4 {
        let _ad_hoc = dhat::Profiler::builder().ad_hoc().testing().build();
        dhat::ad_hoc_event(1);
    }
    assert_eq!(walk::learned_allocator_returns(), 0, "nothing walked yet");
    let mut profiler = std::mem::ManuallyDrop::new(dhat::Profiler::builder().build());
    let kept = allocates_here();
    let json = profiler.drop_and_get_memory_output();
    drop(kept);
    if walk::frame_pointers_look_missing() {
        return;
    }
    assert!(walk::learned_allocator_returns() > 0);
    // An uncalibrated walk keeps the shim as a stack's first frame. A calibrated one may show
    // it only below the allocator's method, as dhat does where no `alloc::alloc` frame is
    // left (code without debug information).
    let profile: serde_json::Value = serde_json::from_str(&json).unwrap();
    let ftbl = profile["ftbl"].as_array().unwrap();
    for point in profile["pps"].as_array().unwrap() {
        if let Some(first) = point["fs"][0].as_u64() {
            let frame = ftbl[first as usize].as_str().unwrap();
            assert!(!frame.contains("__rust_alloc"), "{json}");
        }
    }
    assert!(json.contains("allocates_here"), "{json}");
}
