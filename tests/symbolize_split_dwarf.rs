//! Split DWARF: the executable keeps skeleton units and line tables, and each unit's full
//! debug information lives in a `.dwo` file beside it (`-C split-debuginfo=unpacked`) or in
//! one `.dwp` package for the whole binary (`packed`). A fixture built either way must
//! resolve as one built without it: the function inlined into `split_outer` comes back as an
//! inlined frame, with the fixture's file and lines. Without the split units the inlined
//! frame is lost, and the outer function gets the inlined code's line.
#![cfg(all(feature = "symbolicate", target_os = "linux"))]

use std::path::{Path, PathBuf};
use std::process::Command;

use mod_alloc::{ModAlloc, Symbolizer};
use object::{Object, ObjectSymbol};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const FIXTURE: &str = r#"
#[inline(always)]
fn inner_step(x: u64) -> u64 {
    x.wrapping_mul(7).rotate_left(3) ^ 0x55
}

#[inline(never)]
#[no_mangle]
pub fn split_outer(x: u64) -> u64 {
    let a = inner_step(x);
    std::hint::black_box(a).wrapping_add(1)
}

fn main() {
    println!("{}", split_outer(std::hint::black_box(3)));
}
"#;

/// Builds the fixture into a fresh directory with `split` as `-C split-debuginfo`.
fn build(split: &str) -> PathBuf {
    build_source(split, split, FIXTURE)
}

/// Builds `source` into a fresh directory named after `tag`.
fn build_source(tag: &str, split: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mod-alloc-split-dwarf-{tag}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("fixture.rs");
    std::fs::write(&source, text).unwrap();
    let exe = dir.join("fixture");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "-C",
            "opt-level=1",
            "-C",
            "debuginfo=2",
        ])
        .arg("-C")
        .arg(format!("split-debuginfo={split}"))
        .arg("-o")
        .arg(&exe)
        .arg(&source)
        .current_dir(&dir)
        .output()
        .expect("run rustc");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

/// `split_outer`'s address range in `exe`.
fn outer_range(exe: &Path) -> std::ops::Range<u64> {
    let bytes = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let symbol = file
        .symbols()
        .find(|symbol| symbol.name() == Ok("split_outer"))
        .expect("split_outer in the symbol table");
    assert!(symbol.size() > 0);
    symbol.address()..symbol.address() + symbol.size()
}

/// Every distinct frame chain found in `split_outer`, as `function (file:line)` lists.
fn chains(exe: &Path) -> Vec<Vec<String>> {
    let mut symbolizer = Symbolizer::new();
    let mut chains: Vec<Vec<String>> = Vec::new();
    for address in outer_range(exe) {
        let chain: Vec<String> = symbolizer
            .resolve_in_file(exe, address)
            .iter()
            .map(|frame| {
                let file = frame.file.as_deref().unwrap_or("?");
                let file = Path::new(file).file_name().unwrap().to_string_lossy();
                format!(
                    "{} ({file}:{})",
                    frame.function.as_deref().unwrap_or("?"),
                    frame.line.unwrap_or(0)
                )
            })
            .collect();
        if !chains.contains(&chain) {
            chains.push(chain);
        }
    }
    chains
}

#[test]
fn split_units_resolve_like_the_packed_build() {
    let packed = build("off");
    let split = build("unpacked");
    assert!(
        !files_with(&split, "dwo").is_empty(),
        "rustc wrote no .dwo file"
    );

    let expected = chains(&packed);
    let inlined = vec![
        "fixture::inner_step (fixture.rs:4)".to_owned(),
        "split_outer (fixture.rs:10)".to_owned(),
    ];
    assert!(
        expected.contains(&inlined),
        "the packed build shows the inlined call: {expected:#?}"
    );
    assert_eq!(chains(&split), expected);

    for exe in [packed, split] {
        let _ = std::fs::remove_dir_all(exe.parent().unwrap());
    }
}

/// The files beside `exe` with the extension `extension`.
fn files_with(exe: &Path, extension: &str) -> Vec<PathBuf> {
    std::fs::read_dir(exe.parent().unwrap())
        .unwrap()
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|x| x == extension))
        .collect()
}

/// With `packed`, the split units are read from the `.dwp` package beside the binary.
#[test]
fn a_package_resolves_like_the_unsplit_build() {
    let unsplit = build_source("unsplit-for-package", "off", FIXTURE);
    let packed = build("packed");
    assert_eq!(
        files_with(&packed, "dwp").len(),
        1,
        "rustc wrote no .dwp file"
    );
    assert!(
        files_with(&packed, "dwo").is_empty(),
        "rustc left .dwo files"
    );

    let expected = chains(&unsplit);
    assert!(
        expected.iter().any(|chain| chain.len() == 2),
        "the unsplit build shows the inlined call: {expected:#?}"
    );
    assert_eq!(chains(&packed), expected);
    for exe in [unsplit, packed] {
        let _ = std::fs::remove_dir_all(exe.parent().unwrap());
    }
}

/// Builds the fixture and another program with `split` as `-C split-debuginfo`, puts the
/// other build's split file (extension `extension`) in place of the fixture's, and checks
/// that nothing of the other build is named in the fixture.
fn a_split_file_from_another_build_names_nothing(split: &str, extension: &str) {
    let current = build_source(&format!("current-{split}"), split, FIXTURE);
    let other = build_source(
        &format!("other-{split}"),
        split,
        &FIXTURE
            .replace("inner_step", "other_step")
            .replace('7', "13"),
    );
    let (wanted, stale) = (
        files_with(&current, extension),
        files_with(&other, extension),
    );
    assert_eq!((wanted.len(), stale.len()), (1, 1));
    std::fs::copy(&stale[0], &wanted[0]).unwrap();

    for chain in chains(&current) {
        assert!(
            chain.iter().all(|frame| !frame.contains("other_step")),
            "a frame from the other build: {chain:?}"
        );
    }
    for exe in [current, other] {
        let _ = std::fs::remove_dir_all(exe.parent().unwrap());
    }
}

/// A `.dwo` left from another build (another unit, another id) is not read: the lookup
/// falls back to the skeleton rather than naming the other build's functions.
#[test]
fn a_stale_split_unit_is_not_used() {
    a_split_file_from_another_build_names_nothing("unpacked", "dwo");
}

/// A package from another build does not hold the skeletons' units (its index is by unit
/// id), so nothing of the other build is named either.
#[test]
fn a_stale_package_is_not_used() {
    a_split_file_from_another_build_names_nothing("packed", "dwp");
}
