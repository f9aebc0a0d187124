//! A stripped binary degrades to raw addresses and one note line, without a panic.
//!
//! The test copies its own executable, strips every symbol and debug section from the copy
//! with `strip --strip-all`, and runs the copy's `child_prints_frames` test in a child
//! process. The same child run from the unstripped binary must name its frames, so the test
//! fails if stripping were not what removed the names.

#![cfg(all(feature = "symbolicate", target_os = "linux"))]

mod common;

use std::hint::black_box;
use std::path::Path;
use std::process::Command;

use mod_alloc::{ModAlloc, Symbolizer};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const CHILD_ENV: &str = "MOD_ALLOC_STRIPPED_CHILD";
const NOTE_PREFIX: &str = "mod-alloc: no symbols for ";

#[inline(never)]
fn stripped_probe_one() -> u32 {
    black_box(1)
}

#[inline(never)]
fn stripped_probe_two() -> u32 {
    black_box(2)
}

/// In the child: resolve two of this binary's functions and print one line per frame,
/// `frame <address> <function>` or `frame <address> raw`, then the notes.
#[test]
#[ignore = "the child process of the other tests here, which run it"]
fn child_prints_frames() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return; // only meaningful when run by `stripped_binary_prints_raw_addresses_and_one_note`
    }
    black_box(stripped_probe_one() + stripped_probe_two());
    let mut symbolizer = Symbolizer::new();
    println!(); // the harness prints the test name without a line break
    let probes = [
        stripped_probe_one as fn() -> u32 as usize,
        stripped_probe_two as fn() -> u32 as usize,
    ];
    for address in probes {
        // Function addresses are not return addresses: +1 so that address − 1 is the entry.
        let frames = symbolizer.resolve(address + 1);
        let outer = frames.last().cloned().unwrap_or_default();
        let location = match (&outer.file, outer.line) {
            (Some(file), Some(line)) => {
                let name = Path::new(file)
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy();
                format!("{name}:{line}")
            }
            _ => "-".to_owned(),
        };
        match outer.function {
            Some(function) => println!("frame {address:#x} {function} {location}"),
            None => println!("frame {address:#x} raw"),
        }
    }
    for note in symbolizer.notes() {
        println!("{note}");
    }
}

/// Copies this test binary into a fresh temporary directory as `name`.
fn copy_of_this_binary(tag: &str, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let this_binary = std::env::current_exe().expect("current exe");
    let directory = std::env::temp_dir().join(format!("mod-alloc-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let copy = directory.join(name);
    std::fs::copy(&this_binary, &copy).expect("copy test binary");
    (directory, copy)
}

fn run_tool(tool: &str, args: &[&std::ffi::OsStr]) {
    match Command::new(tool).args(args).status() {
        Ok(status) if status.success() => {}
        other => panic!("`{tool}` failed ({other:?}); binutils is needed for this test"),
    }
}

fn frame_lines(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|line| line.starts_with("frame "))
        .collect()
}

/// Both probes named by the symbol table alone: function names, no file and line.
fn assert_named_without_lines(output: &str) {
    let frames = frame_lines(output);
    assert_eq!(frames.len(), 2, "{output}");
    assert!(
        frames[0].ends_with("symbolize_stripped::stripped_probe_one -"),
        "{output}"
    );
    assert!(
        frames[1].ends_with("symbolize_stripped::stripped_probe_two -"),
        "{output}"
    );
}

fn run_child(binary: &Path) -> String {
    let output = common::child_test(binary, "child_prints_frames")
        .env(CHILD_ENV, "1")
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "child failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn stripped_binary_prints_raw_addresses_and_one_note() {
    let this_binary = std::env::current_exe().expect("current exe");

    let named = run_child(&this_binary);
    assert!(
        named.contains("stripped_probe_one"),
        "unstripped child:\n{named}"
    );
    assert!(!named.contains(NOTE_PREFIX), "unstripped child:\n{named}");

    let directory = std::env::temp_dir().join(format!("mod-alloc-stripped-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let stripped = directory.join("stripped-test-binary");
    std::fs::copy(&this_binary, &stripped).expect("copy test binary");
    let status = Command::new("strip")
        .arg("--strip-all")
        .arg(&stripped)
        .status();
    match status {
        Ok(status) if status.success() => {}
        other => panic!("`strip --strip-all` failed ({other:?}); binutils is needed for this test"),
    }

    let raw = run_child(&stripped);
    let _ = std::fs::remove_dir_all(&directory);
    let frame_lines: Vec<&str> = raw
        .lines()
        .filter(|line| line.starts_with("frame "))
        .collect();
    assert_eq!(frame_lines.len(), 2, "stripped child:\n{raw}");
    for line in &frame_lines {
        assert!(
            line.ends_with(" raw") && line.contains(" 0x"),
            "stripped child:\n{raw}"
        );
    }
    let notes: Vec<&str> = raw
        .lines()
        .filter(|line| line.starts_with(NOTE_PREFIX))
        .collect();
    assert_eq!(notes.len(), 1, "exactly one note expected:\n{raw}");
    assert!(notes[0].contains("stripped-test-binary"), "{}", notes[0]);
    assert!(
        notes[0].ends_with("; frames show raw addresses"),
        "{}",
        notes[0]
    );
}

#[test]
fn without_debug_info_the_symbol_table_names_functions() {
    let (directory, binary) = copy_of_this_binary("no-debug", "no-debug-test-binary");
    run_tool("strip", &["--strip-debug".as_ref(), binary.as_os_str()]);
    let output = run_child(&binary);
    let _ = std::fs::remove_dir_all(&directory);
    assert_named_without_lines(&output);
    assert!(!output.contains(NOTE_PREFIX), "{output}");
}

#[test]
fn a_gnu_debuglink_file_restores_files_and_lines() {
    let (directory, binary) = copy_of_this_binary("debuglink", "debuglink-test-binary");
    let debug_file = directory.join("debuglink-test-binary.debug");
    let keep_debug = [
        "--only-keep-debug".as_ref(),
        binary.as_os_str(),
        debug_file.as_os_str(),
    ];
    run_tool("objcopy", &keep_debug);
    run_tool("strip", &["--strip-all".as_ref(), binary.as_os_str()]);
    let link = format!("--add-gnu-debuglink={}", debug_file.display());
    run_tool("objcopy", &[link.as_ref(), binary.as_os_str()]);
    let output = run_child(&binary);
    let _ = std::fs::remove_dir_all(&directory);
    let frames = frame_lines(&output);
    assert_eq!(frames.len(), 2, "{output}");
    assert!(
        frames[0].contains("symbolize_stripped::stripped_probe_one symbolize_stripped.rs:"),
        "{output}"
    );
    assert!(
        frames[1].contains("symbolize_stripped::stripped_probe_two symbolize_stripped.rs:"),
        "{output}"
    );
    assert!(!output.contains(NOTE_PREFIX), "{output}");
}

/// Compressed debug sections (`objcopy --compress-debug-sections`, `-gz`) cannot be read by
/// this build: the symbol table still names the functions, and one note says why file and
/// line are missing, rather than losing them silently.
#[test]
fn compressed_debug_sections_give_names_and_one_note() {
    let (directory, binary) = copy_of_this_binary("compressed", "compressed-test-binary");
    run_tool(
        "objcopy",
        &[
            "--compress-debug-sections=zlib".as_ref(),
            binary.as_os_str(),
        ],
    );
    let output = run_child(&binary);
    let _ = std::fs::remove_dir_all(&directory);
    assert_named_without_lines(&output);
    let notes: Vec<&str> = output
        .lines()
        .filter(|line| line.starts_with("mod-alloc: "))
        .collect();
    assert_eq!(notes.len(), 1, "exactly one note expected:\n{output}");
    assert!(
        notes[0].starts_with("mod-alloc: no file and line for ")
            && notes[0].contains("compressed-test-binary")
            && notes[0].contains("compressed"),
        "{output}"
    );
}

/// The PLT holds no symbols, and `_fini` (size 0 in the symbol table) sits just before it.
/// A symbol without a size must not stretch past the end of its section: a PLT address
/// names no function.
#[test]
fn a_plt_address_names_no_function() {
    let this_binary = std::env::current_exe().expect("current exe");
    let output = Command::new("readelf")
        .args(["-SW".as_ref(), this_binary.as_os_str()])
        .output()
        .expect("`readelf` is needed for this test (binutils)");
    let sections = String::from_utf8_lossy(&output.stdout);
    // `[19] .plt PROGBITS 000000000030ffa0 30efa0 000050 ...`: name, type, address, offset, size.
    let plt = sections
        .lines()
        .filter_map(|line| line.split_once(']').map(|(_, rest)| rest))
        .map(|rest| rest.split_whitespace().collect::<Vec<_>>())
        .find(|words| words.first() == Some(&".plt"))
        .unwrap_or_else(|| panic!("no .plt section:\n{sections}"));
    let address = u64::from_str_radix(plt[2], 16).expect("hex address");
    let size = u64::from_str_radix(plt[4], 16).expect("hex size");
    assert!(size > 0, "{plt:?}");
    let mut symbolizer = Symbolizer::new();
    for probe in [address, address + size / 2, address + size - 1] {
        let frames = symbolizer.resolve_in_file(&this_binary, probe).to_vec();
        assert!(
            frames.iter().all(|frame| frame.function.is_none()),
            "{probe:#x} in .plt: {frames:?}"
        );
    }
}
