//! One object file's debug information: DWARF through `addr2line`, symbol tables through
//! `object`, and the PDB for MSVC-built PE files.
//!
//! A file is mapped read-only (see `crate::sys::Mapping`; where mapping is unavailable it is
//! read into memory instead) and stays mapped while its parse is cached. Nothing is copied
//! out of it: `addr2line` reads the DWARF sections in place, lazily, and the sorted symbol
//! table points at the names in the file's string table. So loading a module costs a parse of
//! its headers and symbol table, and the kernel pages in only what those and the looked-up
//! addresses touch, from the page cache. A PDB is the exception: it is parsed once into
//! tables of its own (see `pdb_file`), and its mapping is released straight after.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

use addr2line::gimli;
use addr2line::gimli::Section as _;
use addr2line::LookupContinuation as _;
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

use super::debug_files;
use super::pdb_file::{PdbDebug, Refused};
use super::{AddressHasher, Symbol};
use crate::sys::Mapping;

/// Bytes of a file kept open by the value that holds them (an [`ObjectDebug`] or a
/// [`MapObject`]), which drops every borrower before the file: `'static` stands for "as long
/// as the owning value". `addr2line` needs a reader type that owns or borrows the sections;
/// gimli's owning readers (`EndianArcSlice`) sit behind a feature that `addr2line` does not
/// enable, so the context borrows the file stored beside it instead.
type FileBytes = &'static [u8];

/// Sections are read in place from a kept file; see [`FileBytes`].
type Reader = gimli::EndianSlice<'static, gimli::RunTimeEndian>;

/// Extends the borrow of a file's bytes to `'static`, for the tables and the `addr2line`
/// context stored beside it.
///
/// # Safety
///
/// The caller must keep `file` alive until everything holding the returned slice has been
/// dropped. It may move `file` meanwhile: a `Mapping`'s bytes never move.
unsafe fn detach(file: &Mapping) -> FileBytes {
    let bytes: *const [u8] = &**file;
    // SAFETY: the bytes stay valid and unchanged while `file` lives, wherever the value is
    // moved to (documented by `Mapping`), and the caller keeps it alive for every borrower.
    unsafe { &*bytes }
}

/// An `addr2line` context over sections read in place, plus copies of any section that had
/// to be decoded first.
struct DwarfContext {
    // Declared before `decoded`, so it is dropped first: it may borrow them.
    context: addr2line::Context<Reader>,
    #[allow(dead_code)] // never read directly: it owns what `context` reads
    decoded: SectionBuffers,
}

/// Heap buffers leaked from `Box<[u8]>` and freed on drop. Held as raw pointers so that
/// moving the owner never asserts unique access to memory the context is reading. Only
/// sections that could not be read in place land here (none while `object`'s decompression
/// is not enabled: a compressed section is an error, and the file falls back to symbols).
struct SectionBuffers(Vec<NonNull<[u8]>>);

impl SectionBuffers {
    /// Keeps `data` and returns a slice of it valid until `self` is dropped.
    fn keep(&mut self, data: Vec<u8>) -> &'static [u8] {
        let raw = NonNull::from(Box::leak(data.into_boxed_slice()));
        self.0.push(raw);
        // SAFETY: the buffer was just leaked, so it stays allocated and unchanged until
        // `Drop` frees it. Its only user is the context stored beside `self` in a
        // `DwarfContext`, which is dropped first; no reference escapes that pair.
        unsafe { raw.as_ref() }
    }
}

impl Drop for SectionBuffers {
    fn drop(&mut self) {
        for raw in self.0.drain(..) {
            // SAFETY: each pointer came from `Box::leak` in `keep` and is freed once, here,
            // after the context that read it has been dropped.
            drop(unsafe { Box::from_raw(raw.as_ptr()) });
        }
    }
}

// SAFETY: the buffers are plain immutable bytes owned by this value; nothing else holds the
// pointers, so sending the owner to another thread is sound.
unsafe impl Send for SectionBuffers {}

/// Everything needed to resolve addresses in one module's file.
///
/// Fields drop in declaration order, so `files`, which the tables and the context borrow,
/// comes last.
pub(crate) struct ObjectDebug {
    /// The preferred image base for PE files (their DWARF and symbols use absolute
    /// addresses); 0 for ELF and Mach-O.
    pub(crate) image_base: u64,
    dwarf: Option<DwarfContext>,
    /// After `dwarf`, whose context keeps the split units it was given: dropped after it.
    split_units: SplitUnits,
    symbols: SymbolTable,
    /// Whether the file (or its debug file) has a full symbol table, not just the dynamic
    /// one: a stripped binary has only the latter.
    full_symbol_table: bool,
    pdb: Option<PdbDebug>,
    /// Mach-O without DWARF or dSYM: the object files its debug map names.
    debug_map: Option<DebugMap>,
    /// Whether the DWARF is there but compressed (`objcopy --compress-debug-sections`,
    /// `-gz`), which `object` cannot decode without its `compression` feature: the module
    /// then gives names only, and earns a note saying why.
    pub(crate) compressed_debug: bool,
    /// A PDB found for this PE file that belongs to another build of it (see
    /// `debug_files::PdbIdentity`), when no matching one was: not used, and worth a note.
    pub(crate) other_build_pdb: Option<PathBuf>,
    /// Function names already demangled, shared by every address looked up in this file.
    names: NameCache,
    /// The binary and its separate debug file, if any: the bytes everything above reads.
    #[allow(dead_code)] // never read directly: it owns what the fields above borrow
    files: Vec<Mapping>,
}

impl std::fmt::Debug for ObjectDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectDebug")
            .field("image_base", &self.image_base)
            .field("dwarf", &self.dwarf.is_some())
            .field("symbols", &self.symbols.entries.len())
            .field("full_symbol_table", &self.full_symbol_table)
            .field("pdb", &self.pdb.is_some())
            .field("debug_map", &self.debug_map.is_some())
            .field("compressed_debug", &self.compressed_debug)
            .field("other_build_pdb", &self.other_build_pdb)
            .finish()
    }
}

impl ObjectDebug {
    /// Maps and parses the file at `source`; `None` if it cannot be read or parsed at all.
    /// `path` is the module's own path, next to which separate debug files are looked for;
    /// it differs from `source` only when the module's bytes are read through another path
    /// (Linux's `/proc/self/exe` for an executable replaced on disk).
    pub(crate) fn load(source: &Path, path: &Path) -> Option<ObjectDebug> {
        // Declared before everything that borrows it, so that an early return or a panic
        // drops the borrowers first; on success it moves into the result, which drops it last.
        let mut files = vec![Mapping::open(source).ok()?];
        // SAFETY: `files` keeps the mapping for as long as anything borrows it (see above).
        let file = object::File::parse(unsafe { detach(&files[0]) }).ok()?;
        let image_base = match file.format() {
            object::BinaryFormat::Pe => file.relative_address_base(),
            _ => 0,
        };
        let mut symbols = SymbolTable::from_object(&file);
        let mut full_symbol_table = file.symbol_table().is_some();
        let mut other_build_pdb: Option<PathBuf> = None;
        let pdb = match file.format() {
            object::BinaryFormat::Pe => {
                let (candidates, identity) = debug_files::pdb_candidates(path, &file);
                candidates
                    .iter()
                    .find_map(|candidate| match PdbDebug::load(candidate, identity) {
                        Ok(pdb) => Some(pdb),
                        Err(Refused::OtherBuild) => {
                            other_build_pdb.get_or_insert_with(|| candidate.clone());
                            None
                        }
                        Err(Refused::Unreadable) => None,
                    })
            }
            _ => None,
        };
        let mut dwarf = if has_dwarf(&file) {
            load_dwarf(&file)
        } else {
            None
        };
        let mut compressed_debug = dwarf.is_none() && has_compressed_dwarf(&file);
        if dwarf.is_none() && pdb.is_none() {
            if let Some(debug_path) = debug_files::find_separate_debug_file(path, &file) {
                if let Ok(debug_mapping) = Mapping::open(&debug_path) {
                    // SAFETY: `files` keeps the mapping from here on (moving a `Mapping`
                    // leaves its bytes in place) and outlives every borrower, as above.
                    let debug_bytes = unsafe { detach(&debug_mapping) };
                    files.push(debug_mapping);
                    if let Ok(debug_file) = object::File::parse(debug_bytes) {
                        dwarf = load_dwarf(&debug_file);
                        compressed_debug = dwarf.is_none()
                            && (compressed_debug || has_compressed_dwarf(&debug_file));
                        if !full_symbol_table && debug_file.symbol_table().is_some() {
                            symbols = SymbolTable::from_object(&debug_file);
                            full_symbol_table = true;
                        }
                    }
                }
            }
        }
        let debug_map = match file.format() {
            object::BinaryFormat::MachO if dwarf.is_none() => DebugMap::from_object(&file),
            _ => None,
        };
        // Worth a note only where the PDB was all there was to name the code with.
        if pdb.is_some() || dwarf.is_some() {
            other_build_pdb = None;
        }
        Some(ObjectDebug {
            image_base,
            dwarf,
            split_units: SplitUnits::beside(path),
            symbols,
            full_symbol_table,
            pdb,
            debug_map,
            compressed_debug,
            other_build_pdb,
            names: NameCache::default(),
            files,
        })
    }

    /// Loads a PDB file on its own, for addresses given as RVAs (image base 0).
    pub(crate) fn load_pdb_only(path: &Path) -> Option<ObjectDebug> {
        let pdb = PdbDebug::load(path, None).ok()?;
        Some(ObjectDebug {
            image_base: 0,
            dwarf: None,
            split_units: SplitUnits::default(),
            symbols: SymbolTable::default(),
            full_symbol_table: false,
            pdb: Some(pdb),
            debug_map: None,
            compressed_debug: false,
            other_build_pdb: None,
            names: NameCache::default(),
            files: Vec::new(),
        })
    }

    /// Whether the file carries more than its dynamic symbols: debug information or a full
    /// symbol table. Unresolved frames in a file without either earn the module a note.
    pub(crate) fn has_debug_names(&self) -> bool {
        self.dwarf.is_some()
            || self.pdb.is_some()
            || self.debug_map.is_some()
            || self.full_symbol_table
    }

    /// The demangled symbol-table name of the function containing `address`, a file address:
    /// the linkage name, with its full path even where the debug information names functions
    /// without their paths (`debug = "line-tables-only"`).
    pub(crate) fn symbol_table_name(&self, address: u64) -> Option<String> {
        self.symbols
            .lookup(address)
            .map(|name| self.names.demangle(name))
    }

    /// The frames at `address`, a file (link-time) address, innermost first. Empty when
    /// nothing is known about it.
    pub(crate) fn resolve(&self, address: u64) -> Vec<Symbol> {
        if let Some(pdb) = &self.pdb {
            let frames = pdb.resolve(address.wrapping_sub(self.image_base));
            if !frames.is_empty() {
                return frames;
            }
        }
        let mut frames = match (&self.dwarf, &self.debug_map) {
            (Some(dwarf), _) => dwarf_frames(
                &dwarf.context,
                address,
                &self.names,
                Some(&self.split_units),
            ),
            (None, Some(debug_map)) => debug_map.frames(address, &self.names),
            (None, None) => Vec::new(),
        };
        let symbol_name = || self.symbol_table_name(address);
        match frames.last_mut() {
            // The outermost (non-inlined) frame may lack a name when DWARF has only line
            // tables for this unit: the symbol table knows it.
            Some(outer) if outer.function.is_none() => outer.function = symbol_name(),
            Some(_) => {}
            None => {
                if let Some(name) = symbol_name() {
                    frames.push(Symbol {
                        function: Some(name),
                        file: None,
                        line: None,
                        column: None,
                    });
                }
            }
        }
        frames
    }
}

/// The frames `addr2line` finds at `address`, innermost first. A unit whose debug
/// information is split into a `.dwo` file is completed from it through `split_units` (see
/// [`SplitUnits`]); without them, it is used as its skeleton tells it.
fn dwarf_frames(
    context: &addr2line::Context<Reader>,
    address: u64,
    names: &NameCache,
    split_units: Option<&SplitUnits>,
) -> Vec<Symbol> {
    let mut frames = Vec::new();
    // `addr2line` probes the range `address..address + 1`, which overflows at the top
    // address; no code lives there.
    if address == u64::MAX {
        return frames;
    }
    let mut lookup = context.find_frames(address);
    let found = loop {
        match lookup {
            addr2line::LookupResult::Output(found) => break found,
            addr2line::LookupResult::Load { load, continuation } => {
                lookup = continuation.resume(split_units.and_then(|units| units.load(&load)));
            }
        }
    };
    let Ok(mut iter) = found else {
        return frames;
    };
    while let Ok(Some(frame)) = iter.next() {
        let function = frame
            .function
            .as_ref()
            .map(|name| names.demangle(name.name.slice()));
        let (file, line, column) = match frame.location {
            Some(location) => (
                location.file.map(str::to_owned),
                location.line,
                location.column.filter(|&column| column != 0),
            ),
            None => (None, None, None),
        };
        frames.push(Symbol {
            function,
            file,
            line,
            column,
        });
    }
    if frames.is_empty() {
        if let Ok(Some(location)) = context.find_location(address) {
            frames.push(Symbol {
                function: None,
                file: location.file.map(str::to_owned),
                line: location.line,
                column: location.column.filter(|&column| column != 0),
            });
        }
    }
    frames
}

/// Demangles a Rust symbol without its hash suffix; other names are kept as they are.
pub(crate) fn demangle(raw: &[u8]) -> String {
    use std::fmt::Write as _;

    let text = String::from_utf8_lossy(raw);
    match rustc_demangle::try_demangle(&text) {
        Ok(demangled) => {
            // The demangled form is rarely longer than the mangled one (generic arguments
            // can make it so; the string then grows as usual).
            let mut name = String::with_capacity(text.len());
            let _ = write!(name, "{demangled:#}");
            name
        }
        Err(_) => text.into_owned(),
    }
}

/// Demangled names by where their raw bytes sit in the file. The same few inlined helpers
/// (the allocation path, iterator adapters, `Vec` growth) appear in the frames of most
/// captured addresses, and demangling is a large share of a lookup, so each distinct name is
/// demangled once per file. Raw names are slices of the kept file (string tables never
/// move), so their address and length identify them.
#[derive(Default)]
struct NameCache(RefCell<HashMap<(usize, usize), String, AddressHasher>>);

impl NameCache {
    fn demangle(&self, raw: &[u8]) -> String {
        let key = (raw.as_ptr() as usize, raw.len());
        self.0
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| demangle(raw))
            .clone()
    }
}

fn has_dwarf(file: &object::File<'static>) -> bool {
    file.section_by_name(".debug_info")
        .is_some_and(|section| section.size() > 0)
}

/// Whether the DWARF is stored compressed: an ELF `SHF_COMPRESSED` `.debug_info`, or the
/// older GNU `.zdebug_info`.
fn has_compressed_dwarf(file: &object::File<'static>) -> bool {
    let flagged = file
        .section_by_name(".debug_info")
        .and_then(|section| section.compressed_file_range().ok())
        .is_some_and(|range| range.format != object::CompressionFormat::None);
    flagged
        || file
            .section_by_name(".zdebug_info")
            .is_some_and(|section| section.size() > 0)
}

/// Builds an `addr2line` context that reads `file`'s DWARF sections in place.
/// Compressed sections cannot be read (object's compression support is not enabled, as it
/// would pull in a proc-macro build); such a file falls back to its symbol table.
fn load_dwarf(file: &object::File<'static>) -> Option<DwarfContext> {
    let endian = endian_of(file);
    let mut decoded = SectionBuffers(Vec::new());
    let mut load_section = |id: gimli::SectionId| -> Result<Reader, gimli::Error> {
        let data = match file
            .section_by_name(id.name())
            .map(|section| section.uncompressed_data())
        {
            Some(Ok(Cow::Borrowed(data))) => data,
            Some(Ok(Cow::Owned(data))) => decoded.keep(data),
            _ => &[],
        };
        Ok(gimli::EndianSlice::new(data, endian))
    };
    let dwarf = gimli::Dwarf::load(&mut load_section).ok()?;
    if dwarf.debug_info.reader().is_empty() {
        return None;
    }
    let context = addr2line::Context::from_dwarf(dwarf).ok()?;
    Some(DwarfContext { context, decoded })
}

/// Split DWARF units, loaded the first time a lookup needs one.
///
/// With `-C split-debuginfo=unpacked` (or `-gsplit-dwarf` in C), the executable keeps only a
/// skeleton of each unit, with its line table, and the rest (function names, inlined calls)
/// goes to a `.dwo` file named by the skeleton, relative to the unit's compilation
/// directory. `-C split-debuginfo=packed` gathers those into one `.dwp` package beside the
/// binary (`app.dwp` for `app`), indexed by the units' ids. A lookup that meets a skeleton
/// asks for its unit; without it, the outer function would get the line of whatever code was
/// inlined into it. The `.dwo` the skeleton names is tried first, then the package. The
/// files are mapped like the module's own and kept for as long as the module's parse. A
/// `.dwo` that is missing, empty, does not parse or holds another unit (a stale file from an
/// earlier build: its id differs from the skeleton's), and a package without the unit, leave
/// the unit as its skeleton tells it.
#[derive(Default)]
struct SplitUnits {
    /// By path: the file's DWARF and the id of its unit, or `None` for a file that could not
    /// be used. Declared before `files`, so it is dropped first: it borrows them.
    loaded: RefCell<HashMap<PathBuf, Option<SplitUnit>>>,
    /// The `.dwp` package beside the binary, if there is one that parses; opened on the
    /// first unit that no `.dwo` holds. Borrows `files` too.
    package: OnceCell<Option<gimli::DwarfPackage<Reader>>>,
    /// Where the package would be; `None` for a module opened without a path of its own.
    package_path: Option<PathBuf>,
    /// The mapped `.dwo` and `.dwp` files.
    files: RefCell<Vec<Mapping>>,
}

impl SplitUnits {
    /// Split units for the module at `path`, whose package would be `path` + `.dwp`.
    fn beside(path: &Path) -> SplitUnits {
        let mut package_path = path.as_os_str().to_owned();
        package_path.push(".dwp");
        SplitUnits {
            package_path: Some(PathBuf::from(package_path)),
            ..SplitUnits::default()
        }
    }

    /// The split unit `load` asks for, made ready for `addr2line` (`make_dwo`): from the
    /// `.dwo` it names if that holds the unit, else from the package.
    fn load(&self, load: &addr2line::SplitDwarfLoad<Reader>) -> Option<Arc<gimli::Dwarf<Reader>>> {
        self.load_from_dwo(load)
            .or_else(|| self.load_from_package(load))
    }

    fn load_from_dwo(
        &self,
        load: &addr2line::SplitDwarfLoad<Reader>,
    ) -> Option<Arc<gimli::Dwarf<Reader>>> {
        let path = split_unit_path(load)?;
        let known = self.loaded.borrow().get(&path).cloned();
        let unit = match known {
            Some(unit) => unit,
            None => {
                let unit = self.open(&path, &load.parent);
                self.loaded.borrow_mut().insert(path, unit.clone());
                unit
            }
        };
        unit.filter(|unit| unit.id == Some(load.dwo_id))
            .map(|unit| unit.dwarf)
    }

    fn load_from_package(
        &self,
        load: &addr2line::SplitDwarfLoad<Reader>,
    ) -> Option<Arc<gimli::Dwarf<Reader>>> {
        let package = self.package.get_or_init(|| self.open_package()).as_ref()?;
        // The index gives the unit's share of each section, already set up as a split unit
        // of `parent`.
        let dwarf = package.find_cu(load.dwo_id, &load.parent).ok()??;
        Some(Arc::new(dwarf))
    }

    fn open_package(&self) -> Option<gimli::DwarfPackage<Reader>> {
        let file = self.map_object(self.package_path.as_deref()?)?;
        let endian = endian_of(&file);
        gimli::DwarfPackage::load(
            |id| -> Result<Reader, gimli::Error> { Ok(dwo_section(&file, id, endian)) },
            gimli::EndianSlice::new(&[], endian),
        )
        .ok()
    }

    /// Maps the object file at `path` for as long as `self` lives, and parses it.
    fn map_object(&self, path: &Path) -> Option<object::File<'static>> {
        let mapping = Mapping::open(path).ok()?;
        // SAFETY: the mapping goes into `self.files` before anything borrowing it is used,
        // and `self.files` outlives every borrower (see the field order above).
        let bytes = unsafe { detach(&mapping) };
        self.files.borrow_mut().push(mapping);
        object::File::parse(bytes).ok()
    }

    fn open(&self, path: &Path, parent: &gimli::Dwarf<Reader>) -> Option<SplitUnit> {
        let file = self.map_object(path)?;
        let endian = endian_of(&file);
        let mut dwarf = gimli::Dwarf::load(|id| -> Result<Reader, gimli::Error> {
            Ok(dwo_section(&file, id, endian))
        })
        .ok()?;
        dwarf.make_dwo(parent);
        // The first unit is the one `addr2line` will use; its id says whose it is.
        let header = dwarf.units().next().ok()??;
        let id = dwarf.unit(header).ok()?.dwo_id;
        Some(SplitUnit {
            dwarf: Arc::new(dwarf),
            id,
        })
    }
}

/// The byte order of `file`'s DWARF.
fn endian_of(file: &object::File<'static>) -> gimli::RunTimeEndian {
    if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    }
}

/// The split DWARF section `id` of a `.dwo` or `.dwp` file, read in place: a section that is
/// missing or compressed reads as empty.
fn dwo_section(
    file: &object::File<'static>,
    id: gimli::SectionId,
    endian: gimli::RunTimeEndian,
) -> Reader {
    let data = id
        .dwo_name()
        .and_then(|name| file.section_by_name(name))
        .and_then(|section| match section.uncompressed_data() {
            Ok(Cow::Borrowed(data)) => Some(data),
            _ => None,
        })
        .unwrap_or(&[]);
    gimli::EndianSlice::new(data, endian)
}

/// A loaded `.dwo` file and the id of the unit it holds.
#[derive(Clone)]
struct SplitUnit {
    dwarf: Arc<gimli::Dwarf<Reader>>,
    id: Option<gimli::DwoId>,
}

/// Where a split unit's `.dwo` file is: its path, under the unit's compilation directory
/// unless absolute. `None` for a unit that names no file, or a name that is not UTF-8 on a
/// system whose paths are not bytes.
fn split_unit_path(load: &addr2line::SplitDwarfLoad<Reader>) -> Option<PathBuf> {
    let path = path_from_bytes(load.path?.slice())?;
    match load.comp_dir {
        Some(dir) if path.is_relative() => Some(path_from_bytes(dir.slice())?.join(path)),
        _ => Some(path),
    }
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> Option<PathBuf> {
    std::str::from_utf8(bytes).ok().map(PathBuf::from)
}

/// Function symbols sorted by address: ELF `.symtab` (or `.dynsym` when stripped),
/// the Mach-O symbol table, PE COFF symbols and exports.
///
/// Many symbols carry no size: Mach-O and COFF symbols never do, nor do exports, and ELF
/// assembly labels such as `_init` and `_fini` have size 0. Such a symbol is taken to run up
/// to the next symbol or the end of its section, whichever comes first, so that an address
/// past the last function of a section (in the PLT, or past the image) names nothing
/// instead of whatever symbol happens to come before it.
#[derive(Default)]
struct SymbolTable {
    /// (start, end, raw name in the file), sorted by start, one per start.
    entries: Vec<(u64, u64, FileBytes)>,
}

impl SymbolTable {
    fn from_object(file: &object::File<'static>) -> SymbolTable {
        let mut symbols = Vec::new();
        let mut add = |symbol: object::Symbol<'static, '_>| {
            if symbol.kind() != SymbolKind::Text || !symbol.is_definition() {
                return;
            }
            if let Ok(name) = symbol.name_bytes() {
                if !name.is_empty() && symbol.address() != 0 {
                    symbols.push((symbol.address(), symbol.size(), name));
                }
            }
        };
        file.symbols().for_each(&mut add);
        file.dynamic_symbols().for_each(&mut add);
        if let Ok(exports) = file.exports() {
            for export in exports {
                if !export.name().is_empty() {
                    symbols.push((export.address(), 0, export.name()));
                }
            }
        }
        let sections = file
            .sections()
            .filter(|section| section.address() != 0 && section.size() != 0)
            .map(|section| {
                let start = section.address();
                (start, start.saturating_add(section.size()))
            })
            .collect();
        SymbolTable::from_parts(symbols, sections)
    }

    /// Builds the table from `(start, size or 0, name)` symbols and the `(start, end)`
    /// address ranges of the file's sections.
    fn from_parts(
        mut symbols: Vec<(u64, u64, FileBytes)>,
        mut sections: Vec<(u64, u64)>,
    ) -> SymbolTable {
        // For each start, the entry with the largest size is kept.
        symbols.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        symbols.dedup_by(|later, earlier| later.0 == earlier.0);
        sections.sort_unstable();
        let entries = (0..symbols.len())
            .map(|index| {
                let (start, size, name) = symbols[index];
                let end = if size != 0 {
                    start.saturating_add(size)
                } else {
                    let next = symbols.get(index + 1).map(|symbol| symbol.0);
                    super::unsized_symbol_end(start, next, &sections, start.saturating_add(1))
                };
                (start, end, name)
            })
            .collect();
        SymbolTable { entries }
    }

    /// The symbol covering `address`: the last one starting at or before it, if it ends
    /// after it.
    fn lookup(&self, address: u64) -> Option<FileBytes> {
        let index = self
            .entries
            .partition_point(|entry| entry.0 <= address)
            .checked_sub(1)?;
        let (_, end, name) = self.entries[index];
        (address < end).then_some(name)
    }
}

impl std::fmt::Debug for SymbolTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SymbolTable({} entries)", self.entries.len())
    }
}

/// A Mach-O executable's debug map: without a dSYM, its DWARF stays in the object files it was
/// linked from, which `N_OSO` stabs name, with one `N_FUN` entry per function. An address is
/// looked up in the object file that holds its function, at that function's address there
/// plus the same offset. Object files are read on first use. Members of static archives
/// (such as the standard library's rlibs) are skipped: reading archives needs a feature of
/// `object` that is not enabled, so those frames keep their symbol-table names.
struct DebugMap {
    /// (start, size, symbol name in the executable, object index), sorted by start.
    functions: Vec<(u64, u64, FileBytes, usize)>,
    objects: Vec<Option<PathBuf>>,
    loaded: RefCell<HashMap<usize, Option<MapObject>>>,
}

/// One object file named by a debug map. Fields drop in declaration order: `file` last.
struct MapObject {
    dwarf: DwarfContext,
    /// Symbol name (in the object file) -> address inside the object file.
    symbols: HashMap<FileBytes, u64>,
    #[allow(dead_code)] // never read directly: it owns what the fields above borrow
    file: Mapping,
}

impl DebugMap {
    fn from_object(file: &object::File<'static>) -> Option<DebugMap> {
        let map = file.object_map();
        let objects: Vec<Option<PathBuf>> = map
            .objects()
            .iter()
            .map(|object| match object.member() {
                Some(_) => None,
                None => std::str::from_utf8(object.path()).ok().map(PathBuf::from),
            })
            .collect();
        let mut functions: Vec<(u64, u64, FileBytes, usize)> = map
            .symbols()
            .iter()
            .filter(|entry| {
                objects
                    .get(entry.object_index())
                    .is_some_and(Option::is_some)
            })
            .map(|entry| {
                (
                    entry.address(),
                    entry.size(),
                    entry.name(),
                    entry.object_index(),
                )
            })
            .collect();
        if functions.is_empty() {
            return None;
        }
        functions.sort_by_key(|entry| entry.0);
        Some(DebugMap {
            functions,
            objects,
            loaded: RefCell::new(HashMap::new()),
        })
    }

    fn frames(&self, address: u64, names: &NameCache) -> Vec<Symbol> {
        let Some(index) = self
            .functions
            .partition_point(|entry| entry.0 <= address)
            .checked_sub(1)
        else {
            return Vec::new();
        };
        let (start, size, name, object) = &self.functions[index];
        if address - start >= (*size).max(1) {
            return Vec::new();
        }
        let mut loaded = self.loaded.borrow_mut();
        let entry = loaded.entry(*object).or_insert_with(|| {
            self.objects
                .get(*object)
                .and_then(Option::as_ref)
                .and_then(|path| MapObject::load(path))
        });
        let Some(map_object) = entry else {
            return Vec::new();
        };
        let Some(&symbol_address) = map_object.symbols.get(*name) else {
            return Vec::new();
        };
        // `start <= address` by the search above; the object file's address is untrusted.
        let Some(object_address) = symbol_address.checked_add(address - start) else {
            return Vec::new();
        };
        // A debug map's object files are whole units, never split ones.
        dwarf_frames(&map_object.dwarf.context, object_address, names, None)
    }
}

impl MapObject {
    fn load(path: &Path) -> Option<MapObject> {
        // Declared first, so an early return drops it after its borrowers.
        let mapping = Mapping::open(path).ok()?;
        // SAFETY: `mapping` outlives `file` here, then moves (its bytes do not) into the
        // result, which drops it after the context and symbols that borrow it.
        let file = object::File::parse(unsafe { detach(&mapping) }).ok()?;
        let dwarf = load_dwarf(&file)?;
        let symbols = file
            .symbols()
            .filter_map(|symbol| Some((symbol.name_bytes().ok()?, symbol.address())))
            .collect();
        Some(MapObject {
            dwarf,
            symbols,
            file: mapping,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{demangle, NameCache, SymbolTable};

    #[test]
    fn a_symbol_without_size_ends_at_the_next_symbol_or_its_section_end() {
        let symbols = vec![
            (0x1000, 0, &b"first_unsized"[..]),
            (0x1040, 0x20, &b"sized"[..]),
            (0x1080, 0, &b"bounded_by_next"[..]),
            (0x10c0, 0, &b"last_in_text"[..]),
            (0x3000, 0, &b"outside_every_section"[..]),
        ];
        // `.text` is 0x1000..0x1100; then a gap, and a PLT-like section with no symbols.
        let sections = vec![(0x1000, 0x1100), (0x2000, 0x2100)];
        let table = SymbolTable::from_parts(symbols, sections);
        let name = |address| {
            table
                .lookup(address)
                .map(|name| std::str::from_utf8(name).unwrap())
        };
        assert_eq!(name(0x0fff), None);
        assert_eq!(name(0x1000), Some("first_unsized"));
        assert_eq!(name(0x103f), Some("first_unsized"));
        assert_eq!(name(0x105f), Some("sized"));
        assert_eq!(name(0x1060), None, "past a sized symbol's end");
        assert_eq!(name(0x10bf), Some("bounded_by_next"));
        assert_eq!(name(0x10ff), Some("last_in_text"));
        assert_eq!(name(0x1100), None, "past the end of .text");
        assert_eq!(name(0x2050), None, "in a later section without symbols");
        assert_eq!(name(0x3000), Some("outside_every_section"));
        assert_eq!(
            name(0x3001),
            None,
            "nothing bounds it, so only its first byte"
        );
        assert_eq!(name(u64::MAX), None);
    }

    /// `core::ptr::drop_in_place` in the legacy mangling, with a hash suffix.
    const MANGLED: &[u8] = b"_ZN4core3ptr13drop_in_place17h0123456789abcdefE";

    #[test]
    fn demangling_drops_the_hash_and_keeps_other_names() {
        assert_eq!(demangle(MANGLED), "core::ptr::drop_in_place");
        assert_eq!(demangle(b"malloc"), "malloc");
    }

    #[test]
    fn the_name_cache_tells_names_apart_and_demangles_each_once() {
        // Two names in one buffer, as in a string table.
        let mut table = MANGLED.to_vec();
        table.push(0);
        table.extend_from_slice(b"malloc");
        let (first, second) = (&table[..MANGLED.len()], &table[MANGLED.len() + 1..]);
        let cache = NameCache::default();
        assert_eq!(cache.demangle(first), "core::ptr::drop_in_place");
        assert_eq!(cache.demangle(second), "malloc");
        assert_eq!(cache.demangle(first), "core::ptr::drop_in_place");
        assert_eq!(cache.0.borrow().len(), 2, "one entry per distinct name");
    }
}
