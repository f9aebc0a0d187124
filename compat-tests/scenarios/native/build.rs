//! Build script shared by `with-dhat` and `with-ours` (their manifests point
//! here). It compiles `unresolved_paths.c` for the `unresolved_frames`
//! scenario into a static library whose local functions have no symbols, and
//! `no_unwind_tables.c` for the `no_unwind_tables` scenario into one without
//! unwind tables (no `.eh_frame`).
//!
//! The C compiler is `$CC` or `cc`; `strip --discard-all` removes the local
//! symbols (the relocations refer to sections, so nothing needs them). Only a
//! Unix toolchain is supported, like the rest of the differential suite.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn run(command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(status.success(), "{command:?} failed: {status}");
}

fn main() {
    let here = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"))
        .join("../scenarios/native");
    let source = here.join("unresolved_paths.c");
    println!("cargo:rerun-if-changed={}", source.display());
    println!("cargo:rerun-if-changed={}", here.join("build.rs").display());
    println!("cargo:rerun-if-env-changed=CC");

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let object = out.join("unresolved_paths.o");
    let library = out.join("libunresolved_paths.a");
    let compiler = env::var_os("CC").unwrap_or_else(|| "cc".into());
    run(Command::new(compiler)
        .args([
            "-c",
            "-O1",
            "-fPIC",
            "-fno-omit-frame-pointer",
            "-fno-optimize-sibling-calls",
            "-fasynchronous-unwind-tables",
        ])
        .arg(&source)
        .arg("-o")
        .arg(&object));
    run(Command::new("strip").arg("--discard-all").arg(&object));
    let _ = std::fs::remove_file(&library);
    run(Command::new("ar").arg("crs").arg(&library).arg(&object));

    let source = here.join("no_unwind_tables.c");
    println!("cargo:rerun-if-changed={}", source.display());
    let object = out.join("no_unwind_tables.o");
    let library = out.join("libno_unwind_tables.a");
    let compiler = env::var_os("CC").unwrap_or_else(|| "cc".into());
    run(Command::new(compiler)
        .args([
            "-c",
            "-O1",
            "-fPIC",
            "-fno-omit-frame-pointer",
            "-fno-optimize-sibling-calls",
            "-fno-asynchronous-unwind-tables",
            "-fno-unwind-tables",
        ])
        .arg(&source)
        .arg("-o")
        .arg(&object));
    let _ = std::fs::remove_file(&library);
    run(Command::new("ar").arg("crs").arg(&library).arg(&object));
    // Each scenario names its library in its own `#[link]` attribute: a
    // `rustc-link-lib` line would only reach the packages' unused lib target.
    println!("cargo:rustc-link-search=native={}", out.display());
}
