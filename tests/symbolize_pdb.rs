//! The PDB code path against a real PDB: `tests/pdb/fixture.rs` is compiled for
//! `x86_64-pc-windows-msvc` and linked by `rust-lld` (no C runtime needed), on any host. The
//! linker's map file gives each function's address independently of the PDB; the PDB must
//! name the function, its file and a line inside it, and the two `#[inline(always)]`
//! functions inside `fixture_entry` must come back as a chain of inlined frames.
//!
//! Needs the target's standard library: `rustup target add x86_64-pc-windows-msvc`.

#![cfg(feature = "symbolicate")]

use std::path::{Path, PathBuf};
use std::process::Command;

use mod_alloc::{ModAlloc, Symbolizer};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const FUNCTIONS: [&str; 3] = ["fixture_entry", "fixture_double", "fixture_sum_to"];

struct Fixture {
    exe: PathBuf,
    pdb: PathBuf,
    /// (name, absolute address from the map file)
    addresses: Vec<(String, u64)>,
    image_base: u64,
}

fn fixture_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("pdb")
        .join("fixture.rs")
}

fn build_fixture(tag: &str) -> Fixture {
    let out_dir = std::env::temp_dir().join(format!("mod-alloc-pdb-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).expect("create temp dir");
    let exe = out_dir.join("fixture.exe");
    let map = out_dir.join("fixture.map");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "bin",
            "--target",
            "x86_64-pc-windows-msvc",
        ])
        .args([
            "-C",
            "opt-level=0",
            "-C",
            "debuginfo=2",
            "-C",
            "panic=abort",
        ])
        .args(["-C", "linker=rust-lld", "-C", "linker-flavor=lld-link"])
        .args([
            "-C",
            "link-arg=/entry:fixture_entry",
            "-C",
            "link-arg=/nodefaultlib",
        ])
        .args(["-C", "link-arg=/debug", "-C", "link-arg=/subsystem:console"])
        .args(["-C", "link-arg=/force:unresolved"])
        .arg("-C")
        .arg(format!("link-arg=/map:{}", map.display()))
        .arg("-o")
        .arg(&exe)
        .arg(fixture_source())
        .output()
        .expect("run rustc");
    assert!(
        output.status.success(),
        "building the PDB fixture failed (is the target installed? \
         `rustup target add x86_64-pc-windows-msvc`):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let map_text = std::fs::read_to_string(&map).expect("read map file");
    let mut image_base = 0;
    let mut addresses = Vec::new();
    for line in map_text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.contains("Preferred load address is") {
            let hex = words.last().expect("load address");
            image_base = u64::from_str_radix(hex, 16).expect("hex load address");
        }
        if words.len() >= 3 && FUNCTIONS.contains(&words[1]) {
            let address = u64::from_str_radix(words[2], 16).expect("hex symbol address");
            addresses.push((words[1].to_owned(), address));
        }
    }
    assert_eq!(addresses.len(), FUNCTIONS.len(), "map file:\n{map_text}");
    assert_ne!(image_base, 0, "map file has no preferred load address");
    Fixture {
        exe,
        pdb: out_dir.join("fixture.pdb"),
        addresses,
        image_base,
    }
}

/// The lines of `fn name` through its closing brace in the fixture source.
fn line_span(name: &str) -> std::ops::RangeInclusive<u32> {
    let source = std::fs::read_to_string(fixture_source()).expect("read fixture");
    let lines: Vec<&str> = source.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.contains(&format!("fn {name}(")))
        .expect("function in fixture");
    let end = (start..lines.len())
        .find(|&index| lines[index] == "}")
        .expect("closing brace");
    (start as u32 + 1)..=(end as u32 + 1)
}

#[test]
fn functions_resolve_through_a_real_pdb() {
    let fixture = build_fixture("functions");
    assert!(fixture.pdb.is_file(), "rust-lld wrote no PDB");
    let mut symbolizer = Symbolizer::new();
    for (name, address) in &fixture.addresses {
        let span = line_span(name);
        // Procedure records carry the crate path, as the debugger shows it.
        let expected = format!("fixture::{name}");
        // Through the PE file: CodeView record -> PDB path -> PDB tables.
        for probe in [*address, address + 1] {
            let frames = symbolizer.resolve_in_file(&fixture.exe, probe).to_vec();
            assert_eq!(frames.len(), 1, "{name}: {frames:?}");
            let frame = &frames[0];
            assert_eq!(
                frame.function.as_deref(),
                Some(expected.as_str()),
                "{frame:?}"
            );
            let file = frame
                .file
                .as_deref()
                .expect("file name from the PDB line program");
            assert!(file.ends_with("fixture.rs"), "{file}");
            let line = frame.line.expect("line from the PDB line program");
            assert!(span.contains(&line), "{name}: line {line} outside {span:?}");
        }
        // The PDB on its own, by RVA.
        let rva = u32::try_from(address - fixture.image_base).expect("small RVA");
        let frames = symbolizer.resolve_in_pdb(&fixture.pdb, rva).to_vec();
        assert_eq!(
            frames[0].function.as_deref(),
            Some(expected.as_str()),
            "{frames:?}"
        );
    }
    assert!(symbolizer.notes().is_empty(), "{:?}", symbolizer.notes());
    let _ = std::fs::remove_dir_all(fixture.exe.parent().expect("temp dir"));
}

#[test]
fn inlined_calls_resolve_to_a_chain_of_frames() {
    let fixture = build_fixture("inline");
    let mut addresses = fixture.addresses.clone();
    addresses.sort_by_key(|entry| entry.1);
    let position = addresses
        .iter()
        .position(|entry| entry.0 == "fixture_entry")
        .expect("entry");
    let start = addresses[position].1 - fixture.image_base;
    // The entry ends where the next function starts (or, if it is last, well before 4 KiB).
    let end = addresses
        .get(position + 1)
        .map_or(start + 0x1000, |next| next.1 - fixture.image_base);
    let (inner, outer, entry) = (
        line_span("fixture_inner_inline"),
        line_span("fixture_outer_inline"),
        line_span("fixture_entry"),
    );
    let mut symbolizer = Symbolizer::new();
    let mut chains = 0;
    for rva in start..end {
        let frames = symbolizer.resolve_in_pdb(&fixture.pdb, rva as u32).to_vec();
        let names: Vec<&str> = frames
            .iter()
            .map(|frame| frame.function.as_deref().unwrap_or(""))
            .collect();
        let Some(at) = names
            .iter()
            .position(|name| *name == "fixture::fixture_inner_inline")
        else {
            continue;
        };
        assert_eq!(
            &names[at..],
            [
                "fixture::fixture_inner_inline",
                "fixture::fixture_outer_inline",
                "fixture::fixture_entry"
            ],
            "rva {rva:#x}: {frames:?}"
        );
        let lines: Vec<u32> = frames[at..]
            .iter()
            .map(|frame| frame.line.expect("line"))
            .collect();
        assert!(inner.contains(&lines[0]), "rva {rva:#x}: {frames:?}");
        assert!(outer.contains(&lines[1]), "rva {rva:#x}: {frames:?}");
        assert!(entry.contains(&lines[2]), "rva {rva:#x}: {frames:?}");
        chains += 1;
    }
    assert!(
        chains > 0,
        "no address in fixture_entry resolved to the inline chain"
    );
    let _ = std::fs::remove_dir_all(fixture.exe.parent().expect("temp dir"));
}

#[test]
fn a_missing_pdb_gives_a_note_not_a_panic() {
    let mut symbolizer = Symbolizer::new();
    let missing = std::env::temp_dir().join("mod-alloc-no-such-file.pdb");
    let frames = symbolizer.resolve_in_pdb(&missing, 0x1000).to_vec();
    assert_eq!(frames.len(), 1);
    assert!(!frames[0].is_resolved());
    assert_eq!(symbolizer.notes().len(), 1, "{:?}", symbolizer.notes());
}
