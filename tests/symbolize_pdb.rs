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
use std::sync::atomic::{AtomicUsize, Ordering};

use mod_alloc::{ModAlloc, Symbol, Symbolizer};

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
    build_fixture_from(tag, &fixture_source())
}

/// [`build_fixture`] from another source file that defines the same functions.
fn build_fixture_from(tag: &str, source: &Path) -> Fixture {
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
        .arg(source)
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

/// An RVA past the end of the image is in no function: the last public symbol (which has no
/// size) must not claim it.
#[test]
fn an_rva_past_the_image_names_nothing() {
    let fixture = build_fixture("past-image");
    let exe = std::fs::read(&fixture.exe).expect("read exe");
    let image_size = pe_size_of_image(&exe);
    let mut symbolizer = Symbolizer::new();
    // Sanity: the fixture's functions do resolve by RVA.
    let (name, address) = &fixture.addresses[0];
    let rva = u32::try_from(address - fixture.image_base).expect("small RVA");
    let frames = symbolizer.resolve_in_pdb(&fixture.pdb, rva).to_vec();
    assert!(frames[0].is_resolved(), "{name}: {frames:?}");
    for past in [image_size, image_size + 0x10, image_size + 0x10_0000] {
        let frames = symbolizer.resolve_in_pdb(&fixture.pdb, past).to_vec();
        assert_eq!(frames.len(), 1, "rva {past:#x}: {frames:?}");
        assert!(!frames[0].is_resolved(), "rva {past:#x}: {frames:?}");
    }
    let _ = std::fs::remove_dir_all(fixture.exe.parent().expect("temp dir"));
}

/// `SizeOfImage` from a PE file's optional header.
fn pe_size_of_image(exe: &[u8]) -> u32 {
    let word = |at: usize| u32::from_le_bytes(exe[at..at + 4].try_into().expect("4 bytes"));
    let pe_header = word(0x3c) as usize;
    assert_eq!(&exe[pe_header..pe_header + 4], b"PE\0\0");
    // Signature (4) + file header (20), then SizeOfImage at offset 56 of the optional header.
    word(pe_header + 24 + 56)
}

/// One module stream that cannot be parsed costs that module only: the other modules'
/// procedures, with their files and lines, and the public symbols still resolve.
#[test]
fn a_corrupt_module_stream_loses_only_that_module() {
    let fixture = build_fixture("corrupt-module");
    let mut bytes = std::fs::read(&fixture.pdb).expect("read pdb");
    let msf = Msf::parse(&bytes);
    let modules = msf.module_streams(&bytes);
    // The linker's own module holds no fixture function; its symbol records are broken by
    // a first record that claims to run far past the end of the stream.
    let (_, stream) = modules
        .iter()
        .find(|(name, stream)| name == "* Linker *" && stream.is_some())
        .unwrap_or_else(|| panic!("no linker module with symbols: {modules:?}"));
    let first_block = msf.streams[usize::from(stream.expect("stream"))].1[0];
    let record_length = first_block as usize * msf.block_size + 4;
    bytes[record_length..record_length + 2].copy_from_slice(&0xfff0u16.to_le_bytes());
    let corrupt = fixture.pdb.with_file_name("corrupt.pdb");
    std::fs::write(&corrupt, &bytes).expect("write corrupt pdb");

    let mut symbolizer = Symbolizer::new();
    for (name, address) in &fixture.addresses {
        let rva = u32::try_from(address - fixture.image_base).expect("small RVA");
        let frames = symbolizer.resolve_in_pdb(&corrupt, rva).to_vec();
        let outer = frames.last().expect("a frame");
        assert_eq!(
            outer.function.as_deref(),
            Some(format!("fixture::{name}").as_str()),
            "{frames:?}"
        );
        assert!(outer.line.is_some(), "{name}: {frames:?}");
    }
    assert!(symbolizer.notes().is_empty(), "{:?}", symbolizer.notes());
    let _ = std::fs::remove_dir_all(fixture.exe.parent().expect("temp dir"));
}

/// A PDB is used only if the linker wrote it with the executable: its GUID matches the
/// executable's CodeView record and its age is at least the record's. A PDB of the same name
/// from another build (beside an executable copied from an older build, say) describes other
/// code at the same addresses: the frames stay unnamed, with a note, rather than named after
/// the other build's functions. The executable's own PDB, copied with it, still names them.
#[test]
fn a_pdb_from_another_build_is_not_used() {
    let fixture = build_fixture("stale-pdb");
    // The same functions after an extra one, so their addresses hold other code there.
    let source = std::fs::read_to_string(fixture_source()).expect("read fixture");
    let extra =
        "#[no_mangle]\n#[inline(never)]\npub extern \"C\" fn fixture_aaa_first(value: u32) \
                 -> u32 {\n    let mut total = value;\n    for step in 0..value {\n        \
                 total = total.wrapping_mul(31).wrapping_add(step);\n    }\n    \
                 black_box(total)\n}\n\n";
    let at = source.find("\n#[no_mangle]").expect("a function") + 1;
    let variant = fixture.exe.with_file_name("variant.rs");
    std::fs::write(
        &variant,
        format!("{}{extra}{}", &source[..at], &source[at..]),
    )
    .expect("write the variant");
    let other = build_fixture_from("stale-pdb-other", &variant);

    let own = fixture.exe.with_file_name("own");
    let stale = fixture.exe.with_file_name("stale");
    for (directory, pdb) in [(&own, &fixture.pdb), (&stale, &other.pdb)] {
        std::fs::create_dir_all(directory).expect("create dir");
        std::fs::copy(&fixture.exe, directory.join("fixture.exe")).expect("copy exe");
        std::fs::copy(pdb, directory.join("fixture.pdb")).expect("copy pdb");
    }

    let mut symbolizer = Symbolizer::new();
    for (name, address) in &fixture.addresses {
        let expected = format!("fixture::{name}");
        let frames = symbolizer
            .resolve_in_file(&own.join("fixture.exe"), address + 1)
            .to_vec();
        assert_eq!(
            frames.last().and_then(|frame| frame.function.as_deref()),
            Some(expected.as_str()),
            "its own pdb: {frames:?}"
        );
        let frames = symbolizer
            .resolve_in_file(&stale.join("fixture.exe"), address + 1)
            .to_vec();
        assert_eq!(
            frames,
            vec![Symbol::default()],
            "{name}: another build's pdb"
        );
    }
    let notes = symbolizer.notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("stale"), "{notes:?}");
    assert!(notes[0].contains("another build"), "{notes:?}");
    for fixture in [fixture, other] {
        let _ = std::fs::remove_dir_all(fixture.exe.parent().expect("temp dir"));
    }
}

/// Panics the hook saw on threads running `a_pdb_that_panics_the_parser_reads_as_unreadable`.
static PARSER_PANICS: AtomicUsize = AtomicUsize::new(0);

/// Some corrupt PDBs make the `pdb` crate panic instead of returning an error, in release
/// builds too: here every entry of the stream-name map points past the end of the names, an
/// out-of-bounds slice when the string table is looked up. The panic is caught: the file
/// reads as unreadable, with the usual note, and the cache's lock is not poisoned, so the
/// good PDB still resolves afterwards.
#[test]
fn a_pdb_that_panics_the_parser_reads_as_unreadable() {
    let fixture = build_fixture("parser-panic");
    let mut bytes = std::fs::read(&fixture.pdb).expect("read pdb");
    let msf = Msf::parse(&bytes);
    // Stream 1, the PDB information stream, small enough for one block.
    let (size, blocks) = &msf.streams[1];
    assert!(
        *size as usize <= msf.block_size,
        "info stream of {size} bytes"
    );
    let info = blocks[0] as usize * msf.block_size;
    let word = |bytes: &[u8], at: usize| {
        u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize
    };
    assert_eq!(word(&bytes, info), 20_000_404, "a VC7.0 information stream");
    // Version, signature, age and GUID (28 bytes); the names' size and the names; then the
    // hash table: count, capacity, the present and deleted bit vectors (each a word count
    // and words), and the (name offset, stream) pairs.
    let mut at = info + 32 + word(&bytes, info + 28);
    let count = word(&bytes, at);
    assert!(count > 0, "no named streams");
    at += 12 + 4 * word(&bytes, at + 8);
    at += 4 + 4 * word(&bytes, at);
    for entry in 0..count {
        let name_offset = at + 8 * entry;
        bytes[name_offset..name_offset + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    }
    let corrupt = fixture.pdb.with_file_name("names-past-the-end.pdb");
    std::fs::write(&corrupt, &bytes).expect("write corrupt pdb");

    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let on_this_test = std::thread::current()
            .name()
            .is_some_and(|name| name.contains("panics_the_parser"));
        if on_this_test {
            PARSER_PANICS.fetch_add(1, Ordering::Relaxed);
        } else {
            previous(info);
        }
    }));
    let (name, address) = &fixture.addresses[0];
    let rva = u32::try_from(address - fixture.image_base).expect("small RVA");
    let mut symbolizer = Symbolizer::new();
    let frames = symbolizer.resolve_in_pdb(&corrupt, rva).to_vec();
    assert_eq!(frames, vec![Symbol::default()]);
    assert_eq!(symbolizer.notes().len(), 1, "{:?}", symbolizer.notes());
    assert!(
        PARSER_PANICS.load(Ordering::Relaxed) > 0,
        "the parser returned an error instead: this no longer tests the catch"
    );
    let frames = symbolizer.resolve_in_pdb(&fixture.pdb, rva).to_vec();
    let expected = format!("fixture::{name}");
    assert_eq!(
        frames.last().and_then(|frame| frame.function.as_deref()),
        Some(expected.as_str()),
        "{frames:?}"
    );
    let _ = std::fs::remove_dir_all(fixture.exe.parent().expect("temp dir"));
}

/// Just enough of the MSF container (the PDB's file system) to find a stream's blocks.
struct Msf {
    block_size: usize,
    /// (size in bytes, block numbers) per stream.
    streams: Vec<(u32, Vec<u32>)>,
}

impl Msf {
    fn parse(file: &[u8]) -> Msf {
        let word = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().expect("4 bytes"));
        assert!(file.starts_with(b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0"));
        let block_size = word(32) as usize;
        let directory_bytes = word(44) as usize;
        let block_map = word(52) as usize * block_size;
        let directory_blocks = directory_bytes.div_ceil(block_size);
        let directory: Vec<u8> = (0..directory_blocks)
            .flat_map(|index| {
                let block = word(block_map + 4 * index) as usize * block_size;
                file[block..block + block_size].iter().copied()
            })
            .collect();
        let dword =
            |at: usize| u32::from_le_bytes(directory[at..at + 4].try_into().expect("4 bytes"));
        let count = dword(0) as usize;
        let sizes: Vec<u32> = (0..count).map(|index| dword(4 + 4 * index)).collect();
        let mut at = 4 + 4 * count;
        let streams = sizes
            .into_iter()
            .map(|size| {
                let blocks = if size == u32::MAX {
                    0
                } else {
                    (size as usize).div_ceil(block_size)
                };
                let list = (0..blocks).map(|index| dword(at + 4 * index)).collect();
                at += 4 * blocks;
                (size, list)
            })
            .collect();
        Msf {
            block_size,
            streams,
        }
    }

    fn stream(&self, file: &[u8], index: usize) -> Vec<u8> {
        let (size, blocks) = &self.streams[index];
        let mut bytes: Vec<u8> = blocks
            .iter()
            .flat_map(|&block| {
                let start = block as usize * self.block_size;
                file[start..start + self.block_size].iter().copied()
            })
            .collect();
        bytes.truncate(*size as usize);
        bytes
    }

    /// (module name, symbol stream if any) for each module in the DBI stream (stream 3).
    fn module_streams(&self, file: &[u8]) -> Vec<(String, Option<u16>)> {
        let dbi = self.stream(file, 3);
        let word = |at: usize| u32::from_le_bytes(dbi[at..at + 4].try_into().expect("4 bytes"));
        // The 64-byte DBI header, then the module info substream.
        let module_info_size = word(24) as usize;
        let mut at = 64;
        let end = 64 + module_info_size;
        let mut modules = Vec::new();
        while at < end {
            let stream = u16::from_le_bytes([dbi[at + 34], dbi[at + 35]]);
            let name_start = at + 64;
            let name_end = name_start
                + dbi[name_start..]
                    .iter()
                    .position(|&byte| byte == 0)
                    .expect("module name");
            let object_end = name_end
                + 1
                + dbi[name_end + 1..]
                    .iter()
                    .position(|&byte| byte == 0)
                    .expect("object name");
            let name = String::from_utf8_lossy(&dbi[name_start..name_end]).into_owned();
            modules.push((name, (stream != u16::MAX).then_some(stream)));
            at = (object_end + 1).next_multiple_of(4);
        }
        modules
    }
}
