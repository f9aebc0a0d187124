//! Offline symbolication: turning captured return addresses into function, file, line and
//! column, with inlined frames (feature `symbolicate`).
//!
//! Nothing here runs on the allocation hot path. The allocator only stores raw addresses;
//! this module names them when a report is written.
//!
//! # From a runtime address to a file address
//!
//! Default Linux executables are position-independent, shared libraries always are, and
//! macOS and Windows randomise load addresses too. So a runtime address means nothing to the
//! debug information until it is mapped back to the address the linker assigned:
//!
//! - The [`modules`] layer finds the module (executable or library) containing the address
//!   and how it was placed: on Linux `dl_iterate_phdr` gives each object's load bias, on
//!   macOS dyld gives each image's slide, on Windows the loader gives the module's base.
//! - ELF and Mach-O: file address = runtime address − bias. PE: file address = the file's
//!   preferred image base + (runtime address − load base).
//!
//! # Why address − 1
//!
//! A captured frame is a return address: the instruction *after* the call. When the call is
//! the last instruction of a function, or of an inlined block, or of a source line, the
//! return address already belongs to the next one. Looking up `return address − 1` always
//! lands inside the call instruction itself, which is the line the user wants to see.
//!
//! # Backends and fallbacks
//!
//! For each module, in order:
//!
//! 1. PE files with a PDB (MSVC): the PDB's procedures, inline sites, line programs and
//!    public symbols; inlined frames innermost first (see `pdb_file`). Only the PDB the
//!    executable was linked with is used (its GUID and age match the executable's
//!    CodeView record): one of the same name from another build would name other code,
//!    so the module gets a note instead,
//!    `mod-alloc: no symbols for <module>: <pdb> is from another build of it, …`.
//! 2. DWARF, through `addr2line`: every inlined frame, innermost first, with file, line and
//!    column. Found in the binary itself or in a separate debug file: ELF `.gnu_debuglink`
//!    or build ID under `/usr/lib/debug`, or a macOS dSYM bundle next to the binary. A
//!    Mach-O executable without a dSYM is read through its debug map: the DWARF of each
//!    function stays in the object file it was compiled into (cargo's default on macOS).
//!    Split DWARF is completed from the `.dwo` file each unit names
//!    (`-C split-debuginfo=unpacked` on Linux), or else from the `.dwp` package beside the
//!    binary (`packed`).
//! 3. The symbol table: ELF `.symtab`, or `.dynsym` when stripped (so libc frames get at
//!    least their exported names), Mach-O symbols, PE COFF symbols and exports. Names only.
//!    When the DWARF is there but compressed (`objcopy --compress-debug-sections`, `-gz`),
//!    which this build cannot decode, the module gets one note saying so:
//!    `mod-alloc: no file and line for <module>: its debug sections are compressed, …`.
//! 4. Nothing (the file is missing, unreadable, or stripped): the frame stays a raw
//!    address, and the module gets one note line,
//!    `mod-alloc: no symbols for <module>; frames show raw addresses`, kept in
//!    [`Symbolizer::notes`] for the report to print. Never a hang: only regular files that
//!    report a size are read, so a FIFO, a device or a `/proc` file passed as a module is
//!    refused at once. A corrupt file never fails the report either, but one parser can
//!    panic on it: the `pdb` crate does on some corrupt PDBs (an out-of-bounds slice, in
//!    release builds too). That panic is caught and the file treated as unreadable, with
//!    the note; the panic hook still prints its message, and a `panic = "abort"` build
//!    aborts there.
//!
//! Function names are demangled without the hash suffix (`{:#}` of `rustc_demangle`).
//!
//! # Caching, and the allocator's figures
//!
//! - Each object file is mapped read-only and parsed once per process, into a process-wide
//!   cache behind a `Mutex` (not per thread), keyed by path. The file stays mapped while
//!   cached: `addr2line` reads its DWARF in place and the symbol table points at its names,
//!   so nothing is copied and only the pages that lookups touch are ever read from disk
//!   (where a file cannot be mapped, it is read into memory instead). Distinct function names
//!   are demangled once per file. A PDB is flattened into tables and its mapping released.
//!   [`Symbolizer::release_cache`] frees and unmaps it all; the next lookup parses again.
//! - Each [`Symbolizer`] also remembers the frames of every address it has resolved, so a
//!   report that mentions the same frame many times resolves it once. Dropping it frees that.
//! - All of this work, including dropping a `Symbolizer`, runs with the calling thread's
//!   allocation recording suspended, so symbolication never shows up in the figures.

mod debug_files;
mod modules;
mod object_file;
mod pdb_file;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};

use crate::fork_lock::ForkHandlers;
use crate::thread_state::Suspended;

use self::modules::ModuleMap;
use self::object_file::ObjectDebug;

/// One resolved frame: where a captured address points in the source.
///
/// A captured address gives one `Symbol` for the function it is in, preceded by one for each
/// function inlined at that point, innermost first. Every field is optional: a binary
/// without debug information still names its functions from its symbol table, and a
/// stripped one names nothing.
///
/// Like the crate's other result types it is `#[non_exhaustive]`, so a field can be added
/// (a module path, say) without breaking callers; they read the fields, and only this crate
/// builds values:
///
/// ```compile_fail
/// let symbol = mod_alloc::Symbol { function: None, file: None, line: None, column: None };
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Symbol {
    /// The demangled function name, without the hash suffix Rust adds to symbols.
    pub function: Option<String>,
    /// The source file, as recorded by the compiler (often absolute).
    pub file: Option<String>,
    /// The 1-based source line.
    pub line: Option<u32>,
    /// The 1-based source column, when the debug information records one.
    pub column: Option<u32>,
}

impl Symbol {
    /// Whether anything about the frame is known.
    pub fn is_resolved(&self) -> bool {
        self.function.is_some() || self.file.is_some()
    }
}

crate::fork_lock::fork_safe_mutex! {
    /// The process-wide cache of parsed object files, keyed by path. `None` marks a file
    /// that could not be read or parsed, so it is not retried.
    static OBJECT_CACHE: Vec<CacheEntry> = Vec::new();
}

/// The symbolizer's locks' fork handlers, for [`crate::fork_lock::register_all`]: the parse
/// cache's, and that of the lock around listing the loaded modules where there is one.
pub(crate) fn fork_handlers() -> impl Iterator<Item = ForkHandlers> {
    core::iter::once(OBJECT_CACHE.fork_handlers()).chain(modules::fork_handlers())
}

/// A cached parse: the file, how it was read, and the result.
type CacheEntry = (PathBuf, FileKind, Option<ObjectDebug>);

/// How a cached file was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileKind {
    /// An executable or library (ELF, Mach-O or PE), with its separate debug files.
    Object,
    /// A PDB on its own, addressed by RVA.
    Pdb,
}

/// Resolves captured return addresses to [`Symbol`]s.
///
/// ```
/// # #[inline(never)] fn some_function() {}
/// let mut symbolizer = mod_alloc::Symbolizer::new();
/// // Any code address in this process works; captured frames are return addresses.
/// let frames = symbolizer.resolve(some_function as usize + 1);
/// assert!(!frames.is_empty());
/// ```
#[derive(Debug)]
pub struct Symbolizer {
    state: SymbolizerState,
}

#[derive(Debug, Default)]
struct SymbolizerState {
    modules: ModuleMap,
    resolved: HashMap<usize, Vec<Symbol>, AddressHasher>,
    notes: Vec<String>,
    /// The notes about modules that named nothing (a subset of `notes`).
    unnamed_notes: Vec<String>,
    noted: Vec<PathBuf>,
    /// Returned for addresses outside every module.
    unknown: Vec<Symbol>,
    /// The last result of `resolve_in_file` or `resolve_in_pdb`.
    last_in_file: Vec<Symbol>,
}

impl Default for Symbolizer {
    fn default() -> Self {
        Symbolizer::new()
    }
}

impl Symbolizer {
    /// A symbolizer for this process's loaded modules.
    pub fn new() -> Symbolizer {
        let _suspended = Suspended::new();
        Symbolizer {
            state: SymbolizerState {
                modules: ModuleMap::new(),
                unknown: vec![Symbol::default()],
                ..SymbolizerState::default()
            },
        }
    }

    /// The frames at a captured return address, innermost inlined frame first.
    ///
    /// Always at least one entry. An address that cannot be resolved gives one entry with
    /// every field `None`; the caller prints the raw address.
    pub fn resolve(&mut self, return_address: usize) -> &[Symbol] {
        // A return address points after the call; the call itself is one byte earlier.
        self.resolve_code_address(return_address.wrapping_sub(1))
    }

    /// The frames at an address that is itself inside an instruction (for example a
    /// function's address), without the return-address adjustment.
    pub fn resolve_code_address(&mut self, address: usize) -> &[Symbol] {
        let _suspended = Suspended::new();
        let state = &mut self.state;
        if state.resolved.contains_key(&address) {
            return state.resolved.get(&address).unwrap_or(&state.unknown);
        }
        let frames = state.lookup(address);
        state.resolved.entry(address).or_insert(frames)
    }

    /// The symbol table's name for the function a captured return address returns into: its
    /// linkage name, demangled, with the full path. Debug information built with
    /// `debug = "line-tables-only"` names functions without their paths, so this is how the
    /// reports tell the allocator's own frames apart there. `None` where the module has no
    /// symbol for it (a stripped binary, an address outside every module).
    #[cfg_attr(not(feature = "dhat-compat"), allow(dead_code))] // used by the DHAT report
    pub(crate) fn symbol_table_name(&mut self, return_address: usize) -> Option<String> {
        let _suspended = Suspended::new();
        let address = return_address.wrapping_sub(1);
        let module = self.state.modules.find(address)?;
        let placement = module.placement;
        let source = module.source.as_deref().unwrap_or(&module.path);
        with_cached(source, &module.path, FileKind::Object, |object| {
            let object = object?;
            object.symbol_table_name(placement.file_address(address, object.image_base))
        })
    }

    /// Resolves `address`, a link-time address in the object file at `path` (for example an
    /// address in a binary that is not loaded, such as an RVA plus the PE image base). Uses
    /// and fills the same process-wide cache as [`resolve`](Self::resolve). The result is
    /// kept until the next call, so its memory stays out of the allocation figures.
    pub fn resolve_in_file(&mut self, path: &Path, address: u64) -> &[Symbol] {
        let _suspended = Suspended::new();
        let outcome = with_cached(path, path, FileKind::Object, |object| {
            Outcome::of(object, address)
        });
        self.state.last_in_file = self.state.finish(path, outcome);
        &self.state.last_in_file
    }

    /// Resolves `rva` through the PDB at `path`, an offset from the module base: the PDB code
    /// path on its own, on any platform. The result is kept until the next call.
    pub fn resolve_in_pdb(&mut self, path: &Path, rva: u32) -> &[Symbol] {
        let _suspended = Suspended::new();
        let outcome = with_cached(path, path, FileKind::Pdb, |object| {
            Outcome::of(object, u64::from(rva))
        });
        self.state.last_in_file = self.state.finish(path, outcome);
        &self.state.last_in_file
    }

    /// One line for each module whose frames could not be named, e.g.
    /// `mod-alloc: no symbols for ./app; frames show raw addresses`, or whose debug
    /// information could not be read: debug sections compressed with `-gz` or
    /// `objcopy --compress-debug-sections`, which this build does not decompress, give
    /// function names without file and line, and the line `mod-alloc: no file and line for
    /// ./app: its debug sections are compressed, …`.
    pub fn notes(&self) -> &[String] {
        &self.state.notes
    }

    /// The notes about modules that named nothing at all, whose frames are raw addresses:
    /// the ones worth a line at the end of a dhat profile.
    #[cfg_attr(not(feature = "dhat-compat"), allow(dead_code))] // read by the dhat writer
    pub(crate) fn unnamed_module_notes(&self) -> &[String] {
        &self.state.unnamed_notes
    }

    /// Frees the process-wide cache of parsed object files. Later lookups parse again.
    pub fn release_cache() {
        let _suspended = Suspended::new();
        let drained = std::mem::take(&mut *lock_cache());
        drop(drained);
    }
}

impl Drop for Symbolizer {
    fn drop(&mut self) {
        // The memory was allocated with recording suspended; free it the same way.
        let _suspended = Suspended::new();
        drop(std::mem::take(&mut self.state));
    }
}

impl SymbolizerState {
    fn lookup(&mut self, address: usize) -> Vec<Symbol> {
        let Some(module) = self.modules.find(address) else {
            return vec![Symbol::default()];
        };
        let placement = module.placement;
        let source = module.source.as_deref().unwrap_or(&module.path);
        let outcome = with_cached(source, &module.path, FileKind::Object, |object| {
            let file_address = object.map_or(0, |object| {
                placement.file_address(address, object.image_base)
            });
            Outcome::of(object, file_address)
        });
        self.finish(&module.path, outcome)
    }

    /// Notes a module that named nothing or whose debug sections could not be read, once
    /// per module, and guarantees at least one entry.
    fn finish(&mut self, path: &Path, outcome: Outcome) -> Vec<Symbol> {
        let Outcome {
            frames,
            has_names,
            compressed_debug,
            other_build_pdb,
        } = outcome;
        let named_nothing = !frames.iter().any(Symbol::is_resolved);
        let raw_addresses = named_nothing && !has_names;
        let worth_a_note = raw_addresses || compressed_debug || other_build_pdb.is_some();
        if worth_a_note && !self.noted.iter().any(|noted| noted == path) {
            self.noted.push(path.to_path_buf());
            let display = path.display();
            if let Some(pdb) = other_build_pdb {
                let (lacking, showing) = if raw_addresses {
                    ("no symbols", "raw addresses")
                } else {
                    ("no file and line", "names from its symbol table only")
                };
                let note = format!(
                    "mod-alloc: {lacking} for {display}: {} is from another build of it, so it \
                     is not used; frames show {showing}",
                    pdb.display()
                );
                if raw_addresses {
                    self.unnamed_notes.push(note.clone());
                }
                self.notes.push(note);
            } else if raw_addresses {
                let note =
                    format!("mod-alloc: no symbols for {display}; frames show raw addresses");
                self.unnamed_notes.push(note.clone());
                self.notes.push(note);
            } else {
                self.notes.push(format!(
                    "mod-alloc: no file and line for {display}: its debug sections are \
                     compressed, which this build cannot read; frames show function names only"
                ));
            }
        }
        if frames.is_empty() {
            vec![Symbol::default()]
        } else {
            frames
        }
    }
}

/// Where a symbol that records no size ends: at the next symbol's start or at the end of the
/// section that holds it, whichever comes first, or after its first byte when neither is
/// known (`first_byte_end`). `sections` holds `(start, end)` ranges sorted by start. So an
/// address past the last function of a section, or past the image, names nothing.
fn unsized_symbol_end<T: Copy + Ord>(
    start: T,
    next_start: Option<T>,
    sections: &[(T, T)],
    first_byte_end: T,
) -> T {
    let section_end = sections
        .partition_point(|section| section.0 <= start)
        .checked_sub(1)
        .map(|index| sections[index])
        .and_then(|(_, end)| (start < end).then_some(end));
    match (next_start, section_end) {
        (Some(next), Some(end)) => next.min(end),
        (Some(bound), None) | (None, Some(bound)) => bound,
        (None, None) => first_byte_end,
    }
}

/// Hashes machine words (addresses, lengths) with one rotate, xor and multiply per word, the
/// Fx scheme. The keys here are addresses from this process, not attacker input, so the
/// DoS-resistant default hasher would only cost time.
type AddressHasher = BuildHasherDefault<WordHasher>;

/// The state of an [`AddressHasher`].
#[derive(Default)]
struct WordHasher(u64);

impl WordHasher {
    /// An odd constant with well-mixed bits (2^64 / the golden ratio, rounded to odd).
    const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::MULTIPLIER);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_usize(&mut self, word: usize) {
        self.add(word as u64);
    }

    fn write_u64(&mut self, word: u64) {
        self.add(word);
    }

    fn finish(&self) -> u64 {
        // hashbrown takes the bucket from the low bits and a tag from the top seven. A
        // multiply mixes upwards only, so its low bits depend on the key's low bits alone
        // (all zero for aligned addresses): rotate the well-mixed high bits down.
        self.0.rotate_left(26)
    }
}

/// What one lookup in one file found, and what its note needs to know.
#[derive(Default)]
struct Outcome {
    frames: Vec<Symbol>,
    /// Whether the file has more than dynamic symbols (see `ObjectDebug::has_debug_names`).
    has_names: bool,
    /// Whether the file's DWARF could not be read because it is compressed.
    compressed_debug: bool,
    /// A PDB that belongs to another build of the file, left unused.
    other_build_pdb: Option<PathBuf>,
}

impl Outcome {
    /// Resolves `address` in `object`, if it could be parsed. A panic in the parsers for one
    /// address (they should return errors instead) leaves that address unresolved rather than
    /// failing the report; it is caught here, so it never poisons the cache's lock.
    fn of(object: Option<&ObjectDebug>, address: u64) -> Outcome {
        let Some(object) = object else {
            return Outcome::default();
        };
        let frames =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| object.resolve(address)))
                .unwrap_or_default();
        Outcome {
            frames,
            has_names: object.has_debug_names(),
            compressed_debug: object.compressed_debug,
            other_build_pdb: object.other_build_pdb.clone(),
        }
    }
}

fn lock_cache() -> std::sync::MutexGuard<'static, Vec<CacheEntry>> {
    OBJECT_CACHE.lock()
}

/// Runs `f` on the cached parse of the file at `source`, parsing it first if needed. `named`
/// is the module's own path, where separate debug files are looked for: the same as
/// `source` except for a module read through another path (see `LoadedModule::source`).
fn with_cached<R>(
    source: &Path,
    named: &Path,
    kind: FileKind,
    f: impl FnOnce(Option<&ObjectDebug>) -> R,
) -> R {
    let mut cache = lock_cache();
    let index = match cache
        .iter()
        .position(|entry| entry.0 == source && entry.1 == kind)
    {
        Some(index) => index,
        None => {
            // The parsers return errors for bad input; should one panic anyway, the file is
            // treated as unreadable rather than failing the report.
            let parsed = std::panic::catch_unwind(|| match kind {
                FileKind::Object => ObjectDebug::load(source, named),
                FileKind::Pdb => ObjectDebug::load_pdb_only(source),
            })
            .ok()
            .flatten();
            cache.push((source.to_path_buf(), kind, parsed));
            cache.len() - 1
        }
    };
    f(cache[index].2.as_ref())
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::AddressHasher;

    #[test]
    fn the_address_hasher_spreads_aligned_addresses_over_buckets() {
        // Addresses of nearby call sites share their high bits and are often aligned; the
        // low bits of the hash pick the bucket, so they must still differ. Random hashes
        // would fill about 647 of 1,024 buckets; the bare multiply fills 64 at stride 16.
        let hasher = AddressHasher::default();
        for stride in [1, 16, 64] {
            let mut buckets: Vec<u64> = (0..1024usize)
                .map(|index| hasher.hash_one(0x5555_1000 + index * stride) & 1023)
                .collect();
            buckets.sort_unstable();
            buckets.dedup();
            let filled = buckets.len();
            assert!(filled > 700, "stride {stride}: {filled} buckets of 1,024");
        }
    }
}
