//! A program whose executable is replaced on disk while it runs (rebuilt by cargo, upgraded
//! by a package manager) still names its frames: on Linux the symbolizer reads the running
//! image through `/proc/self/exe`, not through the path, which now names another file.
//!
//! The test copies its own executable, starts the copy's `child_resolves_after_a_signal`
//! test as a child that waits on its standard input, renames another file over the copy,
//! then lets the child resolve one of its own functions.

#![cfg(all(feature = "symbolicate", target_os = "linux"))]

use std::hint::black_box;
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};

use mod_alloc::{ModAlloc, Symbolizer};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const CHILD_ENV: &str = "MOD_ALLOC_REPLACED_EXE_CHILD";

#[inline(never)]
fn replaced_exe_probe() -> u32 {
    black_box(7)
}

/// In the child: say it is ready, wait for a line on standard input (the parent has
/// replaced the executable by then), then print `frame <function>` or `frame raw`, and the
/// notes.
#[test]
fn child_resolves_after_a_signal() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return; // only meaningful when run by `frames_resolve_after_the_executable_is_replaced`
    }
    black_box(replaced_exe_probe());
    println!();
    println!("ready");
    std::io::stdout().flush().expect("flush");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("read go");
    let mut symbolizer = Symbolizer::new();
    let address = replaced_exe_probe as fn() -> u32 as usize;
    let frames = symbolizer.resolve_code_address(address);
    match frames.last().and_then(|frame| frame.function.clone()) {
        Some(function) => println!("frame {function}"),
        None => println!("frame raw"),
    }
    for note in symbolizer.notes() {
        println!("{note}");
    }
}

#[test]
fn frames_resolve_after_the_executable_is_replaced() {
    let directory =
        std::env::temp_dir().join(format!("mod-alloc-replaced-exe-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let copy = directory.join("replaced-test-binary");
    std::fs::copy(std::env::current_exe().expect("current exe"), &copy).expect("copy");
    let replacement = directory.join("replacement");
    std::fs::write(&replacement, b"not the program that is running\n").expect("write");

    let mut child = Command::new(&copy)
        .args([
            "child_resolves_after_a_signal",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start child");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("read child") == 0 {
            panic!("child ended before it was ready:\n{seen}");
        }
        seen.push_str(&line);
        if line.trim() == "ready" {
            break;
        }
    }
    // The path now names another file; the running image is only reachable through /proc.
    std::fs::rename(&replacement, &copy).expect("replace the executable");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"go\n").expect("signal child");
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("read child");
    let status = child.wait().expect("wait child");
    let _ = std::fs::remove_dir_all(&directory);
    let output = seen + &rest;
    assert!(status.success(), "child failed: {status}\n{output}");
    assert!(
        output.contains("frame symbolize_replaced_exe::replaced_exe_probe"),
        "{output}"
    );
    assert!(!output.contains("mod-alloc: no symbols"), "{output}");
}
