//! Finding debug information stored outside the binary.
//!
//! - ELF `.gnu_debuglink`: the named file next to the binary, in its `.debug/` directory,
//!   or under `/usr/lib/debug/<binary's directory>/`; accepted only if its CRC-32 matches.
//! - ELF build ID: `/usr/lib/debug/.build-id/<first byte>/<rest>.debug`.
//! - Mach-O: the dSYM bundle next to the binary,
//!   `<binary>.dSYM/Contents/Resources/DWARF/<binary name>`, if its UUID matches.
//! - PE: the PDB named in the CodeView debug directory entry (as written by the linker, then
//!   the same file name next to the binary), or `<binary>.pdb` beside it; the first whose
//!   GUID and age match that entry's (checked as it is read, in `pdb_file`).

use std::path::{Path, PathBuf};

use object::Object;

use crate::sys::Mapping;

const SYSTEM_DEBUG_DIR: &str = "/usr/lib/debug";

/// A separate file holding this binary's DWARF, if one is installed.
pub(crate) fn find_separate_debug_file(binary: &Path, file: &object::File<'_>) -> Option<PathBuf> {
    match file.format() {
        object::BinaryFormat::Elf => by_build_id(file).or_else(|| by_debuglink(binary, file)),
        object::BinaryFormat::MachO => dsym(binary, file),
        _ => None,
    }
}

fn by_build_id(file: &object::File<'_>) -> Option<PathBuf> {
    let id = file.build_id().ok()??;
    let (first, rest) = id.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let mut name: String = rest.iter().map(|byte| format!("{byte:02x}")).collect();
    name.push_str(".debug");
    let path = Path::new(SYSTEM_DEBUG_DIR)
        .join(".build-id")
        .join(format!("{first:02x}"))
        .join(name);
    path.is_file().then_some(path)
}

fn by_debuglink(binary: &Path, file: &object::File<'_>) -> Option<PathBuf> {
    let (name, expected_crc) = file.gnu_debuglink().ok()??;
    let name = Path::new(std::str::from_utf8(name).ok()?);
    let binary = binary
        .canonicalize()
        .unwrap_or_else(|_| binary.to_path_buf());
    let directory = binary.parent()?;
    let mut candidates = vec![directory.join(name), directory.join(".debug").join(name)];
    let relative = directory.strip_prefix("/").unwrap_or(directory);
    candidates.push(Path::new(SYSTEM_DEBUG_DIR).join(relative).join(name));
    candidates.into_iter().find(|candidate| {
        candidate != &binary
            && Mapping::open(candidate).is_ok_and(|bytes| crc32(&bytes) == expected_crc)
    })
}

fn dsym(binary: &Path, file: &object::File<'_>) -> Option<PathBuf> {
    let name = binary.file_name()?;
    let mut bundle = binary.as_os_str().to_owned();
    bundle.push(".dSYM");
    let path = PathBuf::from(bundle)
        .join("Contents/Resources/DWARF")
        .join(name);
    if !path.is_file() {
        return None;
    }
    let expected = file.mach_uuid().ok().flatten();
    if expected.is_some() {
        let bytes = Mapping::open(&path).ok()?;
        let found = object::File::parse(&*bytes)
            .ok()?
            .mach_uuid()
            .ok()
            .flatten();
        if found != expected {
            return None;
        }
    }
    Some(path)
}

/// Which PDB a PE file was linked with, from its CodeView debug directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PdbIdentity {
    /// The PDB's GUID, in the byte order both files store it in.
    pub(crate) guid: [u8; 16],
    /// The PDB's age when the executable was linked.
    pub(crate) age: u32,
}

impl PdbIdentity {
    /// Whether a PDB whose information stream holds `guid` and `age` is this one: the same
    /// GUID, and an age at least this one (tools that update a PDB in place raise its age).
    pub(crate) fn matches(self, guid: [u8; 16], age: u32) -> bool {
        guid == self.guid && age >= self.age
    }
}

/// The PDBs that may be the one for a PE file, in the order to try them, and the identity
/// the right one has (`None` when the file records none, and any candidate is taken). A
/// PDB of the same name from another build would name other code at the same addresses,
/// so a candidate is used only if it matches.
pub(crate) fn pdb_candidates(
    binary: &Path,
    file: &object::File<'_>,
) -> (Vec<PathBuf>, Option<PdbIdentity>) {
    let mut candidates = Vec::new();
    let mut identity = None;
    if let Ok(Some(codeview)) = file.pdb_info() {
        identity = Some(PdbIdentity {
            guid: codeview.guid(),
            age: codeview.age(),
        });
        if let Ok(recorded) = std::str::from_utf8(codeview.path()) {
            candidates.push(PathBuf::from(recorded));
            // The recorded path may use the other separator style or be from another machine.
            if let Some(file_name) = recorded.rsplit(['/', '\\']).next() {
                if let Some(directory) = binary.parent() {
                    candidates.push(directory.join(file_name));
                }
            }
        }
    }
    candidates.push(binary.with_extension("pdb"));
    candidates.retain(|candidate| candidate.is_file());
    (candidates, identity)
}

/// CRC-32 (IEEE, reflected), as used by `.gnu_debuglink`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (index, entry) in table.iter_mut().enumerate() {
        let mut value = index as u32;
        for _ in 0..8 {
            value = if value & 1 != 0 {
                0xedb8_8320 ^ (value >> 1)
            } else {
                value >> 1
            };
        }
        *entry = value;
    }
    let mut crc = !0u32;
    for &byte in bytes {
        crc = table[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::PdbIdentity;

    #[test]
    fn a_pdb_matches_with_the_same_guid_and_an_age_at_least_the_recorded_one() {
        let recorded = PdbIdentity {
            guid: [7; 16],
            age: 2,
        };
        assert!(recorded.matches([7; 16], 2));
        assert!(recorded.matches([7; 16], 3), "updated in place since");
        assert!(!recorded.matches([7; 16], 1), "older than the link");
        let mut other = [7; 16];
        other[15] = 8;
        assert!(!recorded.matches(other, 2), "another link");
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(super::crc32(b"123456789"), 0xcbf4_3926);
    }
}
