//! One object file's debug information: DWARF through `addr2line`, symbol tables through
//! `object`, and the PDB for MSVC-built PE files.
//!
//! A file is read into memory once, parsed, and the parts that answer queries are copied
//! out: the DWARF sections (shared `Arc<[u8]>` buffers that `addr2line` reads lazily), a
//! sorted symbol table, and the PDB's tables. The file's bytes are then dropped, so what
//! stays cached is roughly the size of the debug sections, not of the whole binary.
//! (Mapping the file would avoid the copy, but needs `libc`/`memmap2`; std alone cannot map.)

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use addr2line::gimli;
use addr2line::gimli::Section as _;
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

use super::debug_files;
use super::pdb_file::PdbDebug;
use super::Symbol;

/// Sections are read through slices of buffers owned by [`DwarfContext`], which outlives
/// every use of them; `'static` stands for "as long as the owning context".
type Reader = gimli::EndianSlice<'static, gimli::RunTimeEndian>;

/// An `addr2line` context and the section buffers it reads.
///
/// `addr2line` needs a reader type that owns or borrows the sections. gimli's owning
/// readers (`EndianArcSlice`) sit behind a feature that `addr2line` does not enable, so the
/// context borrows buffers stored beside it instead.
struct DwarfContext {
    // Declared before `sections`, so it is dropped first: it borrows them.
    context: addr2line::Context<Reader>,
    #[allow(dead_code)] // never read directly: it owns what `context` reads
    sections: SectionBuffers,
}

/// Heap buffers leaked from `Box<[u8]>` and freed on drop. Held as raw pointers so that
/// moving the owner never asserts unique access to memory the context is reading.
struct SectionBuffers(Vec<NonNull<[u8]>>);

impl SectionBuffers {
    /// Stores a copy of `data` and returns a slice of it valid until `self` is dropped.
    fn keep(&mut self, data: &[u8]) -> &'static [u8] {
        let raw = NonNull::from(Box::leak(Box::<[u8]>::from(data)));
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
pub(crate) struct ObjectDebug {
    /// The preferred image base for PE files (their DWARF and symbols use absolute
    /// addresses); 0 for ELF and Mach-O.
    pub(crate) image_base: u64,
    dwarf: Option<DwarfContext>,
    symbols: SymbolTable,
    /// Whether the file (or its debug file) has a full symbol table, not just the dynamic
    /// one: a stripped binary has only the latter.
    full_symbol_table: bool,
    pdb: Option<PdbDebug>,
    /// Mach-O without DWARF or dSYM: the object files its debug map names.
    debug_map: Option<DebugMap>,
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
            .finish()
    }
}

impl ObjectDebug {
    /// Reads and parses `path`; `None` if it cannot be read or parsed at all.
    pub(crate) fn load(path: &Path) -> Option<ObjectDebug> {
        let bytes = std::fs::read(path).ok()?;
        let file = object::File::parse(&*bytes).ok()?;
        let image_base = match file.format() {
            object::BinaryFormat::Pe => file.relative_address_base(),
            _ => 0,
        };
        let mut symbols = SymbolTable::from_object(&file);
        let mut full_symbol_table = file.symbol_table().is_some();
        let pdb = match file.format() {
            object::BinaryFormat::Pe => {
                debug_files::find_pdb(path, &file).and_then(|pdb_path| PdbDebug::load(&pdb_path))
            }
            _ => None,
        };
        let mut dwarf = if has_dwarf(&file) {
            load_dwarf(&file)
        } else {
            None
        };
        if dwarf.is_none() && pdb.is_none() {
            if let Some(debug_path) = debug_files::find_separate_debug_file(path, &file) {
                if let Ok(debug_bytes) = std::fs::read(&debug_path) {
                    if let Ok(debug_file) = object::File::parse(&*debug_bytes) {
                        dwarf = load_dwarf(&debug_file);
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
        Some(ObjectDebug {
            image_base,
            dwarf,
            symbols,
            full_symbol_table,
            pdb,
            debug_map,
        })
    }

    /// Loads a PDB file on its own, for addresses given as RVAs plus `image_base`.
    pub(crate) fn load_pdb_only(path: &Path, image_base: u64) -> Option<ObjectDebug> {
        let pdb = PdbDebug::load(path)?;
        Some(ObjectDebug {
            image_base,
            dwarf: None,
            symbols: SymbolTable::default(),
            full_symbol_table: false,
            pdb: Some(pdb),
            debug_map: None,
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
            (Some(dwarf), _) => dwarf_frames(&dwarf.context, address),
            (None, Some(debug_map)) => debug_map.frames(address),
            (None, None) => Vec::new(),
        };
        let symbol_name = || self.symbols.lookup(address).map(demangle);
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

/// The frames `addr2line` finds at `address`, innermost first.
fn dwarf_frames(context: &addr2line::Context<Reader>, address: u64) -> Vec<Symbol> {
    let mut frames = Vec::new();
    let Ok(mut iter) = context.find_frames(address).skip_all_loads() else {
        return frames;
    };
    while let Ok(Some(frame)) = iter.next() {
        let function = frame
            .function
            .as_ref()
            .map(|name| demangle(name.name.slice()));
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
    let text = String::from_utf8_lossy(raw);
    match rustc_demangle::try_demangle(&text) {
        Ok(demangled) => format!("{demangled:#}"),
        Err(_) => text.into_owned(),
    }
}

fn has_dwarf(file: &object::File<'_>) -> bool {
    file.section_by_name(".debug_info")
        .is_some_and(|section| section.size() > 0)
}

/// Copies the DWARF sections out of `file` and builds an `addr2line` context over them.
/// Compressed sections cannot be read (object's compression support is not enabled, as it
/// would pull in a proc-macro build); such a file falls back to its symbol table.
fn load_dwarf(file: &object::File<'_>) -> Option<DwarfContext> {
    let endian = if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    let mut sections = SectionBuffers(Vec::new());
    let mut load_section = |id: gimli::SectionId| -> Result<Reader, gimli::Error> {
        let data = match file
            .section_by_name(id.name())
            .map(|section| section.uncompressed_data())
        {
            Some(Ok(data)) => sections.keep(&data),
            _ => &[],
        };
        Ok(gimli::EndianSlice::new(data, endian))
    };
    let dwarf = gimli::Dwarf::load(&mut load_section).ok()?;
    if dwarf.debug_info.reader().is_empty() {
        return None;
    }
    let context = addr2line::Context::from_dwarf(dwarf).ok()?;
    Some(DwarfContext { context, sections })
}

/// Function symbols sorted by address: ELF `.symtab` (or `.dynsym` when stripped),
/// the Mach-O symbol table, PE COFF symbols and exports.
#[derive(Default)]
struct SymbolTable {
    /// (start, size or 0 when unknown, raw name)
    entries: Vec<(u64, u64, Box<[u8]>)>,
}

impl SymbolTable {
    fn from_object(file: &object::File<'_>) -> SymbolTable {
        let mut entries = Vec::new();
        let mut add = |symbol: object::Symbol<'_, '_>| {
            if symbol.kind() != SymbolKind::Text || !symbol.is_definition() {
                return;
            }
            if let Ok(name) = symbol.name_bytes() {
                if !name.is_empty() && symbol.address() != 0 {
                    entries.push((symbol.address(), symbol.size(), Box::<[u8]>::from(name)));
                }
            }
        };
        file.symbols().for_each(&mut add);
        file.dynamic_symbols().for_each(&mut add);
        if let Ok(exports) = file.exports() {
            for export in exports {
                if !export.name().is_empty() {
                    entries.push((export.address(), 0, Box::from(export.name())));
                }
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        entries.dedup_by(|later, earlier| later.0 == earlier.0);
        SymbolTable { entries }
    }

    /// The symbol covering `address`: the last one starting at or before it, and, when the
    /// symbol's size is known, ending after it.
    fn lookup(&self, address: u64) -> Option<&[u8]> {
        let index = self
            .entries
            .partition_point(|entry| entry.0 <= address)
            .checked_sub(1)?;
        let (start, size, name) = &self.entries[index];
        if *size != 0 && address >= start.saturating_add(*size) {
            return None;
        }
        Some(name)
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
    /// (start, size, symbol name, object index), sorted by start.
    functions: Vec<(u64, u64, Box<[u8]>, usize)>,
    objects: Vec<Option<PathBuf>>,
    loaded: RefCell<HashMap<usize, Option<MapObject>>>,
}

/// One object file named by a debug map.
struct MapObject {
    dwarf: DwarfContext,
    /// Symbol name -> address inside the object file.
    symbols: HashMap<Box<[u8]>, u64>,
}

impl DebugMap {
    fn from_object(file: &object::File<'_>) -> Option<DebugMap> {
        let map = file.object_map();
        let objects: Vec<Option<PathBuf>> = map
            .objects()
            .iter()
            .map(|object| match object.member() {
                Some(_) => None,
                None => std::str::from_utf8(object.path()).ok().map(PathBuf::from),
            })
            .collect();
        let mut functions: Vec<(u64, u64, Box<[u8]>, usize)> = map
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
                    Box::from(entry.name()),
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

    fn frames(&self, address: u64) -> Vec<Symbol> {
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
        let Some(&symbol_address) = map_object.symbols.get(name) else {
            return Vec::new();
        };
        dwarf_frames(
            &map_object.dwarf.context,
            symbol_address + (address - start),
        )
    }
}

impl MapObject {
    fn load(path: &Path) -> Option<MapObject> {
        let bytes = std::fs::read(path).ok()?;
        let file = object::File::parse(&*bytes).ok()?;
        let dwarf = load_dwarf(&file)?;
        let symbols = file
            .symbols()
            .filter_map(|symbol| {
                Some((
                    Box::<[u8]>::from(symbol.name_bytes().ok()?),
                    symbol.address(),
                ))
            })
            .collect();
        Some(MapObject { dwarf, symbols })
    }
}
