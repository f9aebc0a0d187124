//! Build script, with two jobs:
//!
//! - With the `backtraces` feature on an x86_64 target other than Windows, it warns when frame
//!   pointers are not forced, because the call-site walker follows the chain of frame
//!   pointers and x86_64 code omits them by default. Windows walks with the system unwinder,
//!   which needs no flag.
//! - It passes the build's optimisation level to the crate as `MOD_ALLOC_OPT_LEVEL`. How many
//!   of dhat's capped frames its own allocator takes depends on the opt level of the program's
//!   allocator shim; the dhat report counts them on the real allocation path, and falls back
//!   on this crate's level when it cannot name that path (see `dhat_allocator_frames` in
//!   `src/report/dhat.rs`).
//!
//! aarch64 needs no warning: Linux and macOS targets keep frame pointers in non-leaf functions
//! by default (rustc since 1.88 on aarch64 Linux; always on Apple targets), and GCC reserves
//! x29 even with `-fomit-frame-pointer`. Other architectures have no walker at all.

use std::env;

fn main() {
    for variable in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_CFG_TARGET_ARCH",
        "CARGO_CFG_TARGET_OS",
    ] {
        println!("cargo:rerun-if-env-changed={variable}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    // Cargo sets `OPT_LEVEL` for every build script run ("0" to "3", "s" or "z").
    let opt_level = env::var("OPT_LEVEL").unwrap_or_else(|_| "3".to_owned());
    println!("cargo:rustc-env=MOD_ALLOC_OPT_LEVEL={opt_level}");

    let backtraces = env::var_os("CARGO_FEATURE_BACKTRACES").is_some();
    let x86_64 = env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "x86_64");
    let windows = env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "windows");
    if backtraces && x86_64 && !windows && !frame_pointers_forced() {
        println!(
            "cargo:warning=mod-alloc: feature `backtraces` without forced frame pointers: call \
             sites will be short or empty. Build with RUSTFLAGS=\"-C force-frame-pointers=yes\" \
             (or `rustflags` in .cargo/config.toml)."
        );
    }
}

/// Whether the flags rustc gets force frame pointers. Cargo passes the final flags, from
/// `RUSTFLAGS` or from `build.rustflags` / `target.<triple>.rustflags` in its configuration,
/// as `CARGO_ENCODED_RUSTFLAGS` (separated by 0x1f); plain `RUSTFLAGS` is the fallback for
/// builds driven without it.
fn frame_pointers_forced() -> bool {
    let flags: Vec<String> = match env::var("CARGO_ENCODED_RUSTFLAGS") {
        Ok(encoded) => encoded.split('\x1f').map(str::to_owned).collect(),
        Err(_) => env::var("RUSTFLAGS")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    };
    let mut flags = flags
        .iter()
        .map(String::as_str)
        .filter(|flag| !flag.is_empty());
    let mut forced = false;
    // Later flags win, as they do for rustc.
    while let Some(flag) = flags.next() {
        let value = if flag == "-C" || flag == "--codegen" {
            match flags.next() {
                Some(next) => next,
                None => break,
            }
        } else if let Some(rest) = flag
            .strip_prefix("-C")
            .or_else(|| flag.strip_prefix("--codegen="))
        {
            rest
        } else {
            continue;
        };
        if let Some(setting) = value.strip_prefix("force-frame-pointers") {
            // `non-leaf` is enough for the walk: a leaf function calls nothing, so it is never
            // between the allocator and its callers.
            forced = matches!(
                setting,
                "" | "=yes" | "=y" | "=on" | "=true" | "=always" | "=non-leaf"
            );
        }
    }
    forced
}
