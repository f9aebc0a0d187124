//! A walk that meets a C frame compiled without frame pointers ends without a crash.
//!
//! The C side (`tests/support/walk_no_frame_pointer.c`) is compiled at run time with
//! `-O2 -fomit-frame-pointer` into a shared object and loaded with `dlopen`, so the crate's
//! build script stays free of test-only work. The compiler is `$WALK_TEST_CC`, else `cc`
//! (the aarch64 cross script sets `aarch64-linux-gnu-gcc`). On x86_64 the C function calls
//! back into Rust with `rbp` holding a chosen bogus value, as optimised C code may.
//!
//! Run with `RUSTFLAGS="-C force-frame-pointers=yes"`, in debug and release builds.
#![cfg(all(
    feature = "backtraces",
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use core::ffi::{c_char, c_int, c_void, CStr};
use std::cell::Cell;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use mod_alloc::__private::walk;

#[link(name = "dl")]
extern "C" {
    fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
}
const RTLD_NOW: c_int = 2;

type Callback = extern "C" fn(usize) -> usize;
type CallsBack = unsafe extern "C" fn(Callback, usize) -> usize;

/// Builds and loads the C side once; returns its `c_calls_back`.
fn c_calls_back() -> CallsBack {
    static LOADED: OnceLock<usize> = OnceLock::new();
    let address = *LOADED.get_or_init(|| {
        let source =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/walk_no_frame_pointer.c");
        let object = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "walk_no_frame_pointer-{}-{}.so",
            std::env::consts::ARCH,
            std::process::id()
        ));
        let compiler = std::env::var("WALK_TEST_CC").unwrap_or_else(|_| "cc".to_owned());
        let status = Command::new(&compiler)
            .args(["-O2", "-fomit-frame-pointer", "-shared", "-fPIC", "-o"])
            .arg(&object)
            .arg(&source)
            .status()
            .unwrap_or_else(|e| {
                panic!("cannot run the C compiler `{compiler}` (set WALK_TEST_CC): {e}")
            });
        assert!(
            status.success(),
            "`{compiler}` failed to build {}",
            source.display()
        );
        let path = std::ffi::CString::new(object.to_str().unwrap()).unwrap();
        // SAFETY: `path` is a NUL-terminated path to the shared object just built.
        let handle = unsafe { dlopen(path.as_ptr(), RTLD_NOW) };
        if handle.is_null() {
            // SAFETY: after a failed `dlopen`, `dlerror` returns a NUL-terminated message.
            panic!("dlopen failed: {:?}", unsafe { CStr::from_ptr(dlerror()) });
        }
        // SAFETY: `handle` is a live library handle and the name is NUL-terminated.
        let symbol = unsafe { dlsym(handle, b"c_calls_back\0".as_ptr().cast()) };
        assert!(!symbol.is_null(), "c_calls_back not found");
        let _ = std::fs::remove_file(&object);
        symbol as usize
    });
    // SAFETY: `address` is `c_calls_back`, defined in the C file with this signature.
    unsafe { core::mem::transmute::<usize, CallsBack>(address) }
}

const SPAN: usize = 1024;

fn returns_into(address: usize, entry: usize) -> bool {
    address > entry && address - entry < SPAN
}

const DEPTH: usize = 32;

thread_local! {
    static FRAMES: Cell<[usize; DEPTH]> = const { Cell::new([0; DEPTH]) };
    static WRITTEN: Cell<usize> = const { Cell::new(0) };
}

/// Called from C: walks and keeps what it found.
extern "C" fn walk_from_callback(seed: usize) -> usize {
    let mut frames = [0usize; DEPTH];
    let written = walk::walk_here(&mut frames);
    FRAMES.with(|f| f.set(frames));
    WRITTEN.with(|w| w.set(written));
    black_box(seed)
}

/// Calls C with `junk` for its frame-pointer register and returns the frames captured.
#[inline(never)]
fn walk_through_c(junk: usize) -> Vec<usize> {
    let calls_back = c_calls_back();
    // SAFETY: the callback has the C signature the C function expects.
    let result = unsafe { calls_back(walk_from_callback, junk) };
    assert_eq!(result, junk.wrapping_add(1));
    let written = WRITTEN.with(Cell::get);
    FRAMES.with(Cell::get)[..written].to_vec()
}

/// The frames up to the C function: the callback, then the return into C.
fn assert_reaches_c(frames: &[usize]) {
    assert!(frames.len() >= 2, "{frames:x?}");
    assert!(
        returns_into(frames[0], walk_from_callback as Callback as usize),
        "{frames:x?}"
    );
    assert!(
        returns_into(frames[1], c_calls_back() as usize),
        "{frames:x?}"
    );
}

#[test]
fn bogus_frame_pointers_left_by_c_end_the_walk() {
    // Zero, misaligned, and an unmapped address far from the stack.
    for junk in [0, 1, 0x10_0008, 0xdead_0000, usize::MAX & !15] {
        let frames = walk_through_c(junk);
        assert_reaches_c(&frames);
        if cfg!(target_arch = "x86_64") {
            // The bogus value is the next frame pointer: the walk must stop right there.
            assert_eq!(frames.len(), 2, "junk {junk:#x} gave {frames:x?}");
        } else {
            // aarch64 GCC leaves x29 alone: the C frame has no record, and the walk goes on
            // past it into the Rust frames below (the C function's caller is not seen).
            assert!(
                frames.len() > 2,
                "the walk stopped at the C frame: {frames:x?}"
            );
        }
    }
}

#[test]
fn a_plausible_stack_address_left_by_c_is_walked_without_a_crash() {
    // A 16-byte aligned address inside this thread's stack, above the callback: passes every
    // check, so the walk reads whatever the stack holds there, and must still end.
    let local = [0u8; 64];
    let plausible = (black_box(&local) as *const [u8; 64] as usize + 15) & !15;
    let frames = walk_through_c(plausible);
    assert_reaches_c(&frames);
    assert!(frames.len() <= DEPTH);
}
