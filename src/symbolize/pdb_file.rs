//! Windows MSVC debug information: the PDB.
//!
//! A PDB is read once and flattened into three sorted tables, all keyed by RVA (the offset
//! from the module's load base):
//!
//! - procedures (`S_GPROC32`/`S_LPROC32` from every module stream): start, length, name;
//! - line rows from each module's C13 line program: start, length, file, line, column;
//! - public symbols (`S_PUB32` in the global symbol stream), which name functions whose module
//!   stream carries no procedure record (for example code from libraries built without
//!   full debug information).
//!
//! Inlined frames come from `S_INLINESITE` records nested in each procedure: each names its
//! inlinee (a function id in the IPI stream) and carries binary annotations, a small line
//! program for the code ranges of that inlined call. For an address, every enclosing site
//! gives one frame, innermost first, and the procedure itself gives the outermost frame. Each
//! frame's line comes from its own level's line records at that address: the innermost
//! site's records give the line inside the inlined function, the procedure's line program
//! gives the line of the outermost call.
//!
//! This file is compiled on every platform: it parses bytes only, and the test suite runs it
//! on Linux against a PDB linked by `rust-lld`.

use std::collections::HashMap;
use std::path::Path;

use pdb::FallibleIterator;

use super::debug_files::PdbIdentity;
use super::object_file::demangle;
use super::Symbol;
use crate::sys::Mapping;

/// One procedure's address range and name, and the inlined calls inside it.
#[derive(Debug)]
struct Procedure {
    start: u32,
    length: u32,
    name: String,
    inline_sites: Vec<InlineSite>,
}

/// One inlined call: its function, nesting depth (1 = inlined into the procedure itself) and
/// the code ranges it covers with their lines.
#[derive(Debug)]
struct InlineSite {
    depth: u32,
    name: String,
    rows: Vec<LineRow>,
}

/// One row of a line program.
#[derive(Debug)]
struct LineRow {
    start: u32,
    length: u32,
    file: u32,
    line: u32,
    column: Option<u32>,
}

/// Why [`PdbDebug::load`] gave no tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The file could not be read or parsed, or names nothing.
    Unreadable,
    /// A PDB, but not the one the executable was linked with.
    OtherBuild,
}

/// A PDB's procedures, lines and public symbols, flattened and sorted by RVA.
#[derive(Debug, Default)]
pub(crate) struct PdbDebug {
    procedures: Vec<Procedure>,
    lines: Vec<LineRow>,
    files: Vec<String>,
    /// (start, end, name). Public symbols carry no size: each runs to the next one or to the
    /// end of its section, whichever comes first (see [`bound_publics`]).
    publics: Vec<(u32, u32, String)>,
    /// The image's sections as RVA ranges, from the PDB's copy of the section headers.
    sections: Vec<(u32, u32)>,
}

impl PdbDebug {
    /// Reads the PDB at `path`, if it is the PDB `expected` describes (see
    /// [`PdbIdentity::matches`]; `None` takes any PDB).
    ///
    /// The file is mapped for the parse and released after it: the tables own their data.
    /// The `pdb` crate reads it through `Read + Seek`, which on a mapping is a copy of the
    /// pages it asks for rather than a system call each.
    pub(crate) fn load(path: &Path, expected: Option<PdbIdentity>) -> Result<PdbDebug, Refused> {
        let file = Mapping::open(path).map_err(|_| Refused::Unreadable)?;
        let mut pdb =
            pdb::PDB::open(std::io::Cursor::new(&*file)).map_err(|_| Refused::Unreadable)?;
        if let Some(expected) = expected {
            let information = pdb.pdb_information().map_err(|_| Refused::Unreadable)?;
            if !expected.matches(information.guid.to_bytes_le(), information.age) {
                return Err(Refused::OtherBuild);
            }
        }
        let mut tables = PdbDebug::default();
        tables.read(&mut pdb).map_err(|_| Refused::Unreadable)?;
        tables.procedures.sort_by_key(|procedure| procedure.start);
        tables.lines.sort_by_key(|row| row.start);
        tables.publics.sort_by_key(|public| public.0);
        tables.publics.dedup_by_key(|public| public.0);
        bound_publics(&mut tables.publics, &mut tables.sections);
        if tables.procedures.is_empty() && tables.publics.is_empty() {
            return Err(Refused::Unreadable);
        }
        Ok(tables)
    }

    fn read<'s, S: pdb::Source<'s> + 's>(&mut self, pdb: &mut pdb::PDB<'s, S>) -> pdb::Result<()> {
        let address_map = pdb.address_map()?;
        let string_table = pdb.string_table().ok();
        let inlinee_names = InlineeNames::read(pdb).unwrap_or_default();
        if let Ok(Some(headers)) = pdb.sections() {
            self.sections = headers
                .iter()
                .filter(|header| header.virtual_size != 0)
                .map(|header| {
                    let start = header.virtual_address;
                    (start, start.saturating_add(header.virtual_size))
                })
                .collect();
        }

        let globals = pdb.global_symbols()?;
        let mut global_iter = globals.iter();
        while let Some(symbol) = global_iter.next()? {
            if let Ok(pdb::SymbolData::Public(public)) = symbol.parse() {
                if public.function || public.code {
                    if let Some(rva) = public.offset.to_rva(&address_map) {
                        let name = demangle(public.name.as_bytes());
                        self.publics.push((rva.0, rva.0, name));
                    }
                }
            }
        }

        // One unreadable module stream costs that module's procedures and lines, not the
        // rest of the PDB: its error is dropped and the next module is read.
        let Ok(debug_information) = pdb.debug_information() else {
            return Ok(());
        };
        let Ok(mut modules) = debug_information.modules() else {
            return Ok(());
        };
        while let Ok(Some(module)) = modules.next() {
            let _ = self.read_module(
                pdb,
                &module,
                &address_map,
                string_table.as_ref(),
                &inlinee_names,
            );
        }
        Ok(())
    }

    /// Reads one module stream's procedures, line rows and inline sites into the tables.
    /// On an error, whatever was read before it is kept.
    fn read_module<'s, S: pdb::Source<'s> + 's>(
        &mut self,
        pdb: &mut pdb::PDB<'s, S>,
        module: &pdb::Module<'_>,
        address_map: &pdb::AddressMap<'s>,
        string_table: Option<&pdb::StringTable<'s>>,
        inlinee_names: &InlineeNames,
    ) -> pdb::Result<()> {
        let Some(info) = pdb.module_info(module)? else {
            return Ok(());
        };
        let Ok(program) = info.line_program() else {
            return Ok(());
        };
        let mut reader = ModuleReader {
            tables: self,
            address_map,
            strings: string_table,
            program: &program,
            file_ids: HashMap::new(),
        };
        let mut inlinees = HashMap::new();
        if let Ok(mut iter) = info.inlinees() {
            while let Ok(Some(inlinee)) = iter.next() {
                inlinees.insert(inlinee.index(), inlinee);
            }
        }
        // The procedure being read (its offset and index), and the inline nesting depth.
        let mut current: Option<(pdb::PdbInternalSectionOffset, usize)> = None;
        let mut depth = 0u32;
        let mut symbols = info.symbols()?;
        while let Some(symbol) = symbols.next()? {
            match symbol.parse() {
                Ok(pdb::SymbolData::Procedure(procedure)) => {
                    depth = 0;
                    current = reader.procedure(&procedure)?;
                }
                Ok(pdb::SymbolData::InlineSite(site)) => {
                    depth += 1;
                    if let (Some((parent, index)), Some(inlinee)) =
                        (current, inlinees.get(&site.inlinee))
                    {
                        let rows = reader.rows(inlinee.lines(parent, &site), None)?;
                        let name = inlinee_names.name(site.inlinee);
                        let site = InlineSite { depth, name, rows };
                        reader.tables.procedures[index].inline_sites.push(site);
                    }
                }
                Ok(pdb::SymbolData::InlineSiteEnd) => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        Ok(())
    }

    /// The frames at `rva`, innermost inlined call first; empty when the PDB knows nothing
    /// about it.
    pub(crate) fn resolve(&self, rva: u64) -> Vec<Symbol> {
        let Ok(rva) = u32::try_from(rva) else {
            return Vec::new();
        };
        let procedure = self.procedure_at(rva);
        let function = procedure
            .map(|procedure| procedure.name.as_str())
            .or_else(|| self.public_at(rva))
            .map(str::to_owned);
        let row = row_at(&self.lines, rva);
        if function.is_none() && row.is_none() {
            return Vec::new();
        }
        let mut frames = Vec::new();
        if let Some(procedure) = procedure {
            let mut sites: Vec<(&InlineSite, &LineRow)> = procedure
                .inline_sites
                .iter()
                .filter_map(|site| row_at(&site.rows, rva).map(|row| (site, row)))
                .collect();
            // Innermost first. Each level's own row gives its line: the line inside that
            // inlined function, which is also where it calls the next level in.
            sites.sort_by_key(|site| std::cmp::Reverse(site.0.depth));
            for (site, row) in sites {
                frames.push(self.symbol(Some(site.name.clone()), Some(row)));
            }
        }
        frames.push(self.symbol(function, row));
        frames
    }

    fn symbol(&self, function: Option<String>, row: Option<&LineRow>) -> Symbol {
        Symbol {
            function,
            file: row
                .and_then(|row| self.files.get(row.file as usize))
                .filter(|name| !name.is_empty())
                .cloned(),
            line: row.map(|row| row.line).filter(|&line| line != 0),
            column: row.and_then(|row| row.column),
        }
    }

    fn procedure_at(&self, rva: u32) -> Option<&Procedure> {
        let index = self
            .procedures
            .partition_point(|procedure| procedure.start <= rva)
            .checked_sub(1)?;
        let procedure = &self.procedures[index];
        (rva - procedure.start < procedure.length.max(1)).then_some(procedure)
    }

    fn public_at(&self, rva: u32) -> Option<&str> {
        let index = self
            .publics
            .partition_point(|public| public.0 <= rva)
            .checked_sub(1)?;
        let (_, end, name) = &self.publics[index];
        (rva < *end).then_some(name.as_str())
    }
}

/// Reads one module stream's procedures and line rows into the tables.
struct ModuleReader<'a, 'p> {
    tables: &'a mut PdbDebug,
    address_map: &'a pdb::AddressMap<'p>,
    strings: Option<&'a pdb::StringTable<'p>>,
    program: &'a pdb::LineProgram<'a>,
    /// Module file index -> interned file id.
    file_ids: HashMap<u32, u32>,
}

impl ModuleReader<'_, '_> {
    /// Records a procedure and its line rows; returns its offset and index for the inline
    /// sites nested in it.
    fn procedure(
        &mut self,
        procedure: &pdb::ProcedureSymbol<'_>,
    ) -> pdb::Result<Option<(pdb::PdbInternalSectionOffset, usize)>> {
        let Some(start) = procedure.offset.to_rva(self.address_map) else {
            return Ok(None);
        };
        let end = start.0.saturating_add(procedure.len);
        let rows = self.rows(self.program.lines_for_symbol(procedure.offset), Some(end))?;
        self.tables.lines.extend(rows);
        let index = self.tables.procedures.len();
        self.tables.procedures.push(Procedure {
            start: start.0,
            length: procedure.len,
            name: demangle(procedure.name.as_bytes()),
            inline_sites: Vec::new(),
        });
        Ok(Some((procedure.offset, index)))
    }

    /// Collects line rows sorted by start. Rows without a length run to the next row, or to
    /// `end` (or one byte when there is no end).
    fn rows<I>(&mut self, mut lines: I, end: Option<u32>) -> pdb::Result<Vec<LineRow>>
    where
        I: FallibleIterator<Item = pdb::LineInfo, Error = pdb::Error>,
    {
        let mut rows = Vec::new();
        while let Some(line) = lines.next()? {
            let Some(start) = line.offset.to_rva(self.address_map) else {
                continue;
            };
            let file = self.file_id(line.file_index);
            rows.push(LineRow {
                start: start.0,
                length: line.length.unwrap_or(0),
                file,
                line: line.line_start,
                column: line.column_start.filter(|&column| column != 0),
            });
        }
        rows.sort_by_key(|row| row.start);
        for index in 0..rows.len() {
            if rows[index].length == 0 {
                let next = rows.get(index + 1).map(|row| row.start).or(end);
                rows[index].length = next.map_or(1, |next| next.saturating_sub(rows[index].start));
            }
        }
        Ok(rows)
    }

    /// The interned id of a module file, reading its name the first time.
    fn file_id(&mut self, index: pdb::FileIndex) -> u32 {
        if let Some(&id) = self.file_ids.get(&index.0) {
            return id;
        }
        let name = self
            .program
            .get_file_info(index)
            .ok()
            .zip(self.strings)
            .and_then(|(file, strings)| file.name.to_string_lossy(strings).ok())
            .map(|name| name.into_owned())
            .unwrap_or_default();
        let id = self.tables.files.len() as u32;
        self.tables.files.push(name);
        self.file_ids.insert(index.0, id);
        id
    }
}

/// Sets each public symbol's end (see [`super::unsized_symbol_end`]), in `publics` sorted by
/// start with one per start.
fn bound_publics(publics: &mut [(u32, u32, String)], sections: &mut [(u32, u32)]) {
    sections.sort_unstable();
    for index in 0..publics.len() {
        let start = publics[index].0;
        let next = publics.get(index + 1).map(|public| public.0);
        publics[index].1 =
            super::unsized_symbol_end(start, next, sections, start.saturating_add(1));
    }
}

/// The row covering `rva` in rows sorted by start.
fn row_at(rows: &[LineRow], rva: u32) -> Option<&LineRow> {
    let index = rows
        .partition_point(|row| row.start <= rva)
        .checked_sub(1)?;
    let row = &rows[index];
    (rva - row.start < row.length.max(1)).then_some(row)
}

/// Names of inlined functions from the IPI (id) stream: `scope::name` for function ids whose
/// scope is a string id (Rust modules), the bare name otherwise.
#[derive(Default)]
struct InlineeNames {
    names: HashMap<u32, String>,
}

impl InlineeNames {
    fn read<'s, S: pdb::Source<'s> + 's>(pdb: &mut pdb::PDB<'s, S>) -> pdb::Result<InlineeNames> {
        let ids = pdb.id_information()?;
        let mut functions = Vec::new();
        let mut strings = HashMap::new();
        let mut iter = ids.iter();
        while let Some(item) = iter.next()? {
            match item.parse() {
                Ok(pdb::IdData::Function(function)) => {
                    let scope = function.scope.map(|scope| scope.0);
                    functions.push((
                        item.index().0,
                        scope,
                        function.name.to_string().into_owned(),
                    ));
                }
                Ok(pdb::IdData::MemberFunction(function)) => {
                    functions.push((item.index().0, None, function.name.to_string().into_owned()));
                }
                Ok(pdb::IdData::String(string)) => {
                    strings.insert(item.index().0, string.name.to_string().into_owned());
                }
                _ => {}
            }
        }
        let names = functions
            .into_iter()
            .map(
                |(index, scope, name)| match scope.and_then(|scope| strings.get(&scope)) {
                    Some(scope) if !scope.is_empty() => (index, format!("{scope}::{name}")),
                    _ => (index, name),
                },
            )
            .collect();
        Ok(InlineeNames { names })
    }

    fn name(&self, index: pdb::IdIndex) -> String {
        self.names
            .get(&index.0)
            .cloned()
            .unwrap_or_else(|| "<inlined>".to_owned())
    }
}
