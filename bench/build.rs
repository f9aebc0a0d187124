//! Two jobs before the benchmark compiles:
//!
//! - records the compiler version for the driver's report header: the toolchain that built
//!   the binaries, which is not necessarily the `rustc` on the PATH when the driver runs;
//! - generates `sites.rs` in `OUT_DIR`: [`SITE_COUNT`] distinct allocation sites for the
//!   call-site and symbolication benchmarks (see `src/sites.rs`).

use std::fmt::Write as _;
use std::process::Command;

/// How many distinct allocation sites to generate.
const SITE_COUNT: usize = 1024;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let version = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=BENCH_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");
    println!("cargo:rerun-if-changed=build.rs");

    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    std::fs::write(format!("{out_dir}/sites.rs"), generate_sites()).expect("OUT_DIR is writable");
}

/// One `#[inline(never)]` function per site. Each body passes its own number through
/// `black_box`, so no two bodies are identical and neither LLVM nor the linker can merge them
/// into one address: every function really is a distinct call site.
fn generate_sites() -> String {
    let mut text = String::new();
    let _ = writeln!(text, "/// Number of generated sites.");
    let _ = writeln!(text, "pub const SITE_COUNT: usize = {SITE_COUNT};");
    for n in 0..SITE_COUNT {
        let _ = writeln!(
            text,
            "#[inline(never)]\nfn site_{n}(size: usize) -> Vec<u8> {{\n    \
             std::hint::black_box({n}usize);\n    Vec::with_capacity(size)\n}}"
        );
    }
    let _ = writeln!(text, "/// Every generated site, in order.");
    let _ = writeln!(
        text,
        "pub static SITES: [fn(usize) -> Vec<u8>; SITE_COUNT] = ["
    );
    for n in 0..SITE_COUNT {
        let _ = writeln!(text, "    site_{n},");
    }
    let _ = writeln!(text, "];");
    text
}
