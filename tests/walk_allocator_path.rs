//! The walker's calibration keeps the allocator's own frames on the path from
//! `std::alloc::alloc` to a capture; a dhat report names them to count the frames dhat's own
//! allocator would have had. The allocator shim is among them, past frames of ours, exactly
//! when it keeps a frame of its own, which depends on how the crate that declares the
//! `#[global_allocator]` (this test) is optimised.
//!
//! Run in debug and release builds, with `RUSTFLAGS="-C force-frame-pointers=yes"`.
#![cfg(all(
    feature = "backtraces",
    feature = "symbolicate",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

mod common;

use mod_alloc::__private::walk;
use mod_alloc::{ModAlloc, Profiler, Symbolizer};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

#[test]
fn the_shim_keeps_a_frame_of_its_own_only_in_an_unoptimised_build() {
    assert!(
        walk::allocator_path().is_empty(),
        "known before calibration"
    );
    // A capturing profiler's start calibrates the walker.
    let profiler = Profiler::start();
    let path = walk::allocator_path();
    drop(profiler);
    if common::skip_without_frame_pointers() {
        return;
    }
    assert!(!path.is_empty(), "calibration kept no allocation path");

    let mut symbolizer = Symbolizer::new();
    let names: Vec<String> = path
        .iter()
        .map(|&address| {
            // The physical function: the outermost symbol.
            let symbols = symbolizer.resolve(address);
            let function = symbols.last().and_then(|symbol| symbol.function.clone());
            function.unwrap_or_else(|| panic!("{address:#x} has no name"))
        })
        .collect();
    // Frames from the innermost to the shim, if the shim has one of its own past the
    // innermost, which stands for dhat's method; an unoptimised probe sees one more, the
    // `alloc::alloc::alloc` that calls the shim.
    // The shim's names: `__rust_alloc` (or `__rustc::__rust_alloc`), and the `__rg_alloc`
    // behind it on older compilers.
    let is_shim = |name: &String| {
        matches!(
            name.rsplit("::").next(),
            Some("__rust_alloc" | "__rg_alloc")
        )
    };
    let shim_frame = names[1..].iter().position(is_shim).map(|i| i + 1);
    // The build script passes the profile's opt level, which this test is compiled with.
    let unoptimised = env!("MOD_ALLOC_OPT_LEVEL") == "0";
    assert_eq!(
        shim_frame.is_some(),
        unoptimised,
        "allocator path: {names:?}"
    );
    // Every frame below the shim is this crate's.
    for name in &names[..shim_frame.unwrap_or(names.len())] {
        assert!(
            name.contains("mod_alloc::") || is_shim(name),
            "allocator path: {names:?}"
        );
    }
}
