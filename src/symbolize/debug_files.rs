//! Finding debug information stored outside the binary.
//!
//! - ELF `.gnu_debuglink`: the named file next to the binary, in its `.debug/` directory,
//!   or under `/usr/lib/debug/<binary's directory>/`; accepted only if its CRC-32 matches.
//! - ELF build ID: `/usr/lib/debug/.build-id/<first byte>/<rest>.debug`.
//! - Mach-O: the dSYM bundle next to the binary,
//!   `<binary>.dSYM/Contents/Resources/DWARF/<binary name>`, if its UUID matches.
//! - PE: the PDB named in the CodeView debug directory entry (as written by the linker, then
//!   the same file name next to the binary), or `<binary>.pdb` beside it.

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

/// The PDB for a PE file, if it can be found.
pub(crate) fn find_pdb(binary: &Path, file: &object::File<'_>) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(Some(codeview)) = file.pdb_info() {
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
    candidates.into_iter().find(|candidate| candidate.is_file())
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
    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(super::crc32(b"123456789"), 0xcbf4_3926);
    }
}
