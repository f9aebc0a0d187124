//! A whole file's bytes, mapped read-only when the system allows it, read otherwise.
//!
//! Symbolication parses executables and debug files that are often tens of megabytes, of
//! which it needs the headers, the symbol table and the debug sections, and of those only the
//! pages that the looked-up addresses lead to. Reading such a file copies all of it into
//! fresh heap pages first. A read-only mapping costs nothing up front: the kernel pages in
//! what the parser touches, straight from the page cache, and the pages are clean, so they
//! can be dropped again under memory pressure.
//!
//! [`Mapping::open`] maps on 64-bit Unix (`mmap`) and on Windows (`MapViewOfFile`). On other
//! targets, or when the system refuses (a file system without mapping support), it reads the
//! file into a heap buffer instead, so callers never care which they got.
//!
//! Only regular files with something in them are accepted: every caller wants an object
//! file. A FIFO would block the open or the read until some other process writes to it, and
//! a device such as `/dev/zero` would be read until memory runs out; paths reach here from
//! debug links and from the public `resolve_in_file`, so anything else is refused with
//! `InvalidInput`. Files in `/proc` are regular files that report a size of 0 whatever they
//! hold, and some hold a great deal (`/proc/self/pagemap` has 8 bytes for every page of the
//! address space): a file of size 0 is refused with `InvalidData`, and a read never goes past
//! the size the file reported.
//!
//! The bytes stay at the same address for the life of the `Mapping`, even when the value
//! itself is moved: callers may keep slices of it beside it, as long as those are gone
//! before it is dropped.
//!
//! One caveat comes with any mapping: if another process truncates the file while it is
//! mapped, touching the lost pages raises `SIGBUS` on Unix. Executables and loaded libraries
//! are replaced, not truncated, by linkers and package managers; debuggers and the
//! `backtrace` crate accept the same risk.
//!
//! Both opening and dropping run with the calling thread's allocation recording suspended:
//! the path conversion or the fallback buffer must not show up in the profile.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::ptr::NonNull;

use super::imp;
use crate::thread_state::Suspended;

/// A file's bytes, read-only; dereferences to `[u8]`.
pub(crate) struct Mapping {
    base: NonNull<u8>,
    len: usize,
    /// Who releases the bytes on drop.
    owner: Owner,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    /// A mapping made by `imp::map_file`.
    System,
    /// A `Box<[u8]>` leaked by `from_heap`, held as a raw pointer so that moving the
    /// `Mapping` asserts nothing about memory that slices may be reading.
    Heap,
}

// SAFETY: the bytes are immutable for the life of the value and owned by it alone; reading
// them from any thread, or releasing them from another thread, is sound.
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` only ever gives shared, read-only access.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// The bytes of the file at `path`: mapped if possible, read otherwise. Errors if the
    /// file cannot be opened or read, with `InvalidInput` if it is not a regular file, and
    /// with `InvalidData` if it reports a size of 0.
    pub(crate) fn open(path: &Path) -> io::Result<Mapping> {
        let _suspended = Suspended::new();
        // Checked before opening, since opening a FIFO for reading blocks until a writer
        // appears, and again on the handle, so that what is read is a regular file even if
        // the path was swapped in between (a swap to a FIFO in that window could still
        // block the open; paths here name binaries and debug files, not hostile targets).
        refuse_unless_regular(&std::fs::metadata(path)?)?;
        let file = File::open(path)?;
        let metadata = file.metadata()?;
        refuse_unless_regular(&metadata)?;
        if metadata.len() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "an empty file, or one that reports no size",
            ));
        }
        let len = usize::try_from(metadata.len())
            .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        if let Some(base) = imp::map_file(&file, len) {
            return Ok(Mapping {
                base,
                len,
                owner: Owner::System,
            });
        }
        // A failed reservation is an error for this file, never an abort; and the read
        // stops at the size reported, should the file have grown since.
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(len)
            .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        file.take(metadata.len()).read_to_end(&mut bytes)?;
        Ok(Mapping::from_heap(bytes.into_boxed_slice()))
    }

    fn from_heap(bytes: Box<[u8]>) -> Mapping {
        let len = bytes.len();
        let base = NonNull::from(Box::leak(bytes)).cast::<u8>();
        Mapping {
            base,
            len,
            owner: Owner::Heap,
        }
    }

    /// Whether the bytes are a system mapping rather than a heap copy.
    #[cfg(test)]
    fn is_mapped(&self) -> bool {
        self.owner == Owner::System
    }
}

/// Devices, FIFOs, sockets and directories are not files to parse (see the module docs).
fn refuse_unless_regular(metadata: &std::fs::Metadata) -> io::Result<()> {
    if metadata.is_file() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ))
    }
}

impl std::ops::Deref for Mapping {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `base` points to `len` initialised bytes (a live mapping or a leaked box)
        // that nothing writes to and that are released only in `drop`.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let _suspended = Suspended::new();
        match self.owner {
            // SAFETY: `base` and `len` come from one successful `map_file`, released only
            // here; every slice of it has ended, as they borrow `self`.
            Owner::System => unsafe { imp::unmap_file(self.base, self.len) },
            Owner::Heap => {
                let raw = std::ptr::slice_from_raw_parts_mut(self.base.as_ptr(), self.len);
                // SAFETY: `raw` is exactly the box leaked in `from_heap`, freed once, here.
                drop(unsafe { Box::from_raw(raw) });
            }
        }
    }
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("len", &self.len)
            .field("owner", &self.owner)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Mapping;
    use std::path::PathBuf;

    /// A file in the temporary directory, removed when dropped.
    struct TempFile(PathBuf);

    impl TempFile {
        fn with_contents(name: &str, contents: &[u8]) -> TempFile {
            let path = std::env::temp_dir()
                .join(format!("mod-alloc-mapping-{}-{name}", std::process::id()));
            std::fs::write(&path, contents).expect("write the test file");
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn a_mapping_holds_exactly_the_files_bytes() {
        // Several pages plus a partial one, and no byte repeats with a period of a page, so
        // a mapping at the wrong offset, of the wrong length or of the wrong file shows.
        let contents: Vec<u8> = (0..3 * 4096 + 123u32)
            .map(|index| (index.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let file = TempFile::with_contents("bytes", &contents);
        let mapping = Mapping::open(&file.0).expect("map the test file");
        assert_eq!(mapping.len(), contents.len());
        assert!(
            *mapping == *contents,
            "the mapped bytes differ from the file"
        );
        // Moving the value keeps the bytes where they were (callers rely on it).
        let before = mapping.as_ptr();
        let moved = Box::new(mapping);
        assert_eq!(moved.as_ptr(), before);
        assert!(**moved == *contents);
        if cfg!(any(all(unix, target_pointer_width = "64"), windows)) {
            assert!(moved.is_mapped(), "expected a real mapping on this target");
        }
    }

    #[test]
    fn an_empty_file_is_refused() {
        let file = TempFile::with_contents("empty", b"");
        let error = Mapping::open(&file.0).expect_err("an empty file");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    }

    /// Files in `/proc` report a size of 0, and `pagemap` would read for as long as the
    /// address space is large: refused, not read.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_that_reports_no_size_is_refused() {
        for path in ["/proc/self/status", "/proc/self/pagemap"] {
            let error = Mapping::open(std::path::Path::new(path)).expect_err(path);
            assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{path}");
        }
    }

    /// A device would be read until memory runs out: it must be refused, not read.
    #[cfg(unix)]
    #[test]
    fn a_device_is_refused() {
        let error = Mapping::open(std::path::Path::new("/dev/zero")).expect_err("a device");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_directory_is_refused() {
        let error = Mapping::open(&std::env::temp_dir()).expect_err("a directory");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let path = std::env::temp_dir().join(format!(
            "mod-alloc-mapping-{}-does-not-exist",
            std::process::id()
        ));
        let error = Mapping::open(&path).expect_err("a missing file cannot be opened");
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn the_heap_fallback_holds_the_same_bytes() {
        let fallback = Mapping::from_heap(Box::from(&b"not mapped"[..]));
        assert!(!fallback.is_mapped());
        assert_eq!(&*fallback, b"not mapped");
    }
}
