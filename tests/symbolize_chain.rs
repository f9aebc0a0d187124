//! Symbolication of this test binary's own frames, under ASLR (a default PIE build on Linux):
//! a known call chain resolves to the right functions, files and lines, in debug and in
//! release with debug info, and at least 95% of a deep chain's frames resolve.
//!
//! Return addresses are captured without any stack walker: a six-byte assembly function
//! returns its own return address, which is the instruction after the call in the caller,
//! exactly what a frame-pointer walk records. `line!()` on the same line gives the expected
//! source line.
//!
//! Not on macOS yet: cargo's default there (`split-debuginfo = "unpacked"`) leaves the DWARF
//! in the object files, reached through the executable's debug map, and that path has not
//! been run on a Mac.

#![cfg(all(
    feature = "symbolicate",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    any(target_os = "linux", windows)
))]

use std::hint::black_box;
use std::path::Path;

use mod_alloc::{measure_thread, ModAlloc, Symbolizer};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".text",
    ".globl mod_alloc_test_return_address",
    "mod_alloc_test_return_address:",
    "mov rax, [rsp]",
    "ret",
);

#[cfg(target_arch = "aarch64")]
std::arch::global_asm!(
    ".text",
    ".globl mod_alloc_test_return_address",
    "mod_alloc_test_return_address:",
    "mov x0, x30",
    "ret",
);

extern "C" {
    /// Returns the address its caller will return to.
    fn mod_alloc_test_return_address() -> usize;
}

/// A captured return address and what it should resolve to.
#[derive(Debug)]
struct Capture {
    function: &'static str,
    return_address: usize,
    line: u32,
}

macro_rules! capture {
    ($out:expr, $function:expr) => {
        // SAFETY: the assembly function reads its own return address and touches nothing else.
        $out.push(Capture {
            function: $function,
            return_address: unsafe { mod_alloc_test_return_address() },
            line: line!(),
        })
    };
}

#[inline(never)]
fn chain_top(out: &mut Vec<Capture>) {
    // SAFETY: the assembly function reads its own return address and touches nothing else.
    let (return_address, line) = (unsafe { mod_alloc_test_return_address() }, line!());
    out.push(Capture {
        function: "chain_top",
        return_address,
        line,
    });
    chain_middle(black_box(out));
    black_box(&out);
}

#[inline(never)]
fn chain_middle(out: &mut Vec<Capture>) {
    // SAFETY: the assembly function reads its own return address and touches nothing else.
    let (return_address, line) = (unsafe { mod_alloc_test_return_address() }, line!());
    out.push(Capture {
        function: "chain_middle",
        return_address,
        line,
    });
    chain_bottom(black_box(out));
    black_box(&out);
}

#[inline(never)]
fn chain_bottom(out: &mut Vec<Capture>) {
    // SAFETY: the assembly function reads its own return address and touches nothing else.
    let (return_address, line) = (unsafe { mod_alloc_test_return_address() }, line!());
    out.push(Capture {
        function: "chain_bottom",
        return_address,
        line,
    });
    black_box(&out);
}

/// Whether `frames` name `capture`'s function in this file at its line (the compiler may
/// attribute the call to an adjacent line in optimised code, so one line either side).
fn matches(capture: &Capture, frames: &[mod_alloc::Symbol]) -> Result<(), String> {
    let outer = frames.last().ok_or("no frames")?;
    let function = outer.function.as_deref().ok_or("no function name")?;
    let expected = format!("symbolize_chain::{}", capture.function);
    if function != expected {
        return Err(format!("function {function}, expected {expected}"));
    }
    let file = outer.file.as_deref().ok_or("no file")?;
    let basename = Path::new(file).file_name().and_then(|name| name.to_str());
    if basename != Some("symbolize_chain.rs") {
        return Err(format!("file {file}"));
    }
    let line = outer.line.ok_or("no line")?;
    if line + 1 < capture.line || line > capture.line + 1 {
        return Err(format!("line {line}, expected {}", capture.line));
    }
    Ok(())
}

#[test]
fn a_known_call_chain_resolves_to_functions_files_and_lines() {
    let mut captures = Vec::new();
    chain_top(&mut captures);
    assert_eq!(captures.len(), 3);
    let mut symbolizer = Symbolizer::new();
    for capture in &captures {
        let frames = symbolizer.resolve(capture.return_address).to_vec();
        if let Err(problem) = matches(capture, &frames) {
            panic!("{capture:?} resolved to {frames:?}: {problem}");
        }
    }
    assert!(symbolizer.notes().is_empty(), "{:?}", symbolizer.notes());
}

macro_rules! deep_chain {
    ($first:ident $(, $rest:ident)* $(,)?) => {
        deep_chain!(@link $first $(, $rest)*);
        const DEEP_CHAIN_LENGTH: usize = 1 $(+ { let _ = stringify!($rest); 1 })*;
        fn run_deep_chain(out: &mut Vec<Capture>) {
            $first(out);
        }
    };
    (@link $current:ident, $next:ident $(, $rest:ident)*) => {
        #[inline(never)]
        fn $current(out: &mut Vec<Capture>) {
            capture!(out, stringify!($current));
            $next(black_box(out));
            black_box(&out);
        }
        deep_chain!(@link $next $(, $rest)*);
    };
    (@link $last:ident) => {
        #[inline(never)]
        fn $last(out: &mut Vec<Capture>) {
            capture!(out, stringify!($last));
            black_box(&out);
        }
    };
}

deep_chain!(
    deep_00, deep_01, deep_02, deep_03, deep_04, deep_05, deep_06, deep_07, deep_08, deep_09,
    deep_10, deep_11, deep_12, deep_13, deep_14, deep_15, deep_16, deep_17, deep_18, deep_19,
    deep_20, deep_21, deep_22, deep_23, deep_24, deep_25, deep_26, deep_27, deep_28, deep_29,
    deep_30, deep_31, deep_32, deep_33, deep_34, deep_35, deep_36, deep_37, deep_38, deep_39,
);

#[test]
fn at_least_95_percent_of_a_deep_chain_resolves() {
    let mut captures = Vec::new();
    run_deep_chain(&mut captures);
    assert_eq!(captures.len(), DEEP_CHAIN_LENGTH);
    let mut symbolizer = Symbolizer::new();
    let mut failures = Vec::new();
    for capture in &captures {
        let frames = symbolizer.resolve(capture.return_address).to_vec();
        // Frames generated by a macro carry the macro's lines; the name and file must match.
        let outer = frames.last().cloned().unwrap_or_default();
        let name_ok = outer.function.as_deref()
            == Some(format!("symbolize_chain::{}", capture.function).as_str());
        let file_ok = outer
            .file
            .as_deref()
            .is_some_and(|file| file.ends_with("symbolize_chain.rs"));
        if !(name_ok && file_ok && outer.line.is_some()) {
            failures.push(format!("{capture:?} -> {frames:?}"));
        }
    }
    let resolved = captures.len() - failures.len();
    assert!(
        resolved * 100 >= captures.len() * 95,
        "{resolved} of {} resolved; failures:\n{}",
        captures.len(),
        failures.join("\n")
    );
}

#[test]
fn symbolication_does_not_show_in_the_figures() {
    let mut captures = Vec::new();
    chain_top(&mut captures);
    let ((), stats) = measure_thread(|| {
        Symbolizer::release_cache();
        let mut symbolizer = Symbolizer::new();
        for capture in &captures {
            black_box(symbolizer.resolve(capture.return_address));
        }
        drop(symbolizer);
    });
    assert_eq!(stats.alloc_count, 0, "{stats:?}");
    assert_eq!(stats.dealloc_count, 0, "{stats:?}");
    assert_eq!(stats.total_bytes, 0, "{stats:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_libc_frame_resolves_at_least_by_name() {
    extern "C" {
        fn getpid() -> i32;
    }
    let address = getpid as unsafe extern "C" fn() -> i32 as usize;
    let mut symbolizer = Symbolizer::new();
    let frames = symbolizer.resolve_code_address(address).to_vec();
    let name = frames
        .last()
        .and_then(|frame| frame.function.clone())
        .unwrap_or_default();
    assert!(
        name.contains("getpid"),
        "libc's getpid resolved to {frames:?}"
    );
}

#[test]
fn an_address_outside_every_module_stays_raw() {
    let mut symbolizer = Symbolizer::new();
    let frames = symbolizer.resolve(16).to_vec();
    assert_eq!(frames.len(), 1);
    assert!(!frames[0].is_resolved(), "{frames:?}");
}

/// A return address is the instruction after the call. When the call was its function's last
/// instruction (one that never returns), that is the first byte of the next function, and
/// the frame still belongs to the caller: `resolve` looks one byte back, so an address at a
/// function's first byte does not name that function, while the same address resolved as a
/// code address does. Linux only: a function pointer on Windows may be an incremental-linking
/// thunk rather than the function itself.
#[cfg(target_os = "linux")]
#[test]
fn a_return_address_at_a_function_s_first_byte_is_not_in_that_function() {
    let start = chain_top as fn(&mut Vec<Capture>) as usize;
    let names_chain_top = |frames: &[mod_alloc::Symbol]| {
        frames
            .iter()
            .any(|frame| frame.function.as_deref() == Some("symbolize_chain::chain_top"))
    };
    let mut symbolizer = Symbolizer::new();
    let as_code = symbolizer.resolve_code_address(start).to_vec();
    assert!(names_chain_top(&as_code), "{as_code:?}");
    let as_return = symbolizer.resolve(start).to_vec();
    assert!(!names_chain_top(&as_return), "{as_return:?}");
}
