//! Which loaded module holds an address, and where that module was placed.
//!
//! This is the one `cfg` dispatch point for the operating-system half of symbolication. Each
//! backend exports `loaded_modules()` (every module, listed) and `module_containing()` (the
//! one module at an address, asked directly; `None` where the backend only lists), with the
//! same signatures:
//!
//! - `linux.rs` walks the dynamic linker's list with `dl_iterate_phdr` (Linux and Android;
//!   the BSDs have the same call but are not wired up, and use `other.rs`);
//! - `macos.rs` walks dyld's image list (`_dyld_image_count` and friends);
//! - `windows.rs` lists nothing and asks the loader which module contains each address
//!   (`GetModuleHandleExW` with `FROM_ADDRESS`, then `GetModuleFileNameW`);
//! - `other.rs` knows no modules, so every frame stays a raw address.
//!
//! Each also exports `fork_handlers()`: those of the lock it takes, if any.
//!
//! A module is described by the address ranges it occupies and by its [`Placement`]: how to
//! turn a runtime address into the address the debug information speaks about.

use std::ops::Range;
use std::path::PathBuf;

#[cfg(any(target_os = "linux", target_os = "android"))]
#[path = "linux.rs"]
mod imp;

#[cfg(any(target_os = "macos", target_os = "ios"))]
#[path = "macos.rs"]
mod imp;

#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    windows
)))]
#[path = "other.rs"]
mod imp;

/// The fork handlers of the lock the backend takes around its module walk, if it has one.
pub(super) fn fork_handlers() -> Option<crate::fork_lock::ForkHandlers> {
    imp::fork_handlers()
}

/// How a module's runtime addresses relate to the addresses in its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// ELF and Mach-O: file address = runtime address − bias (the ASLR slide).
    #[cfg_attr(
        not(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios"
        )),
        allow(dead_code)
    )]
    Bias(usize),
    #[cfg_attr(not(windows), allow(dead_code))]
    /// PE: the module was loaded at this base; file address = image base in the file's
    /// header + (runtime address − base). The header in the file gives the image base, so
    /// relocated DLLs need no extra bookkeeping.
    LoadBase(usize),
}

impl Placement {
    /// The file (link-time) address for `runtime`, given the image base read from the file.
    pub(crate) fn file_address(self, runtime: usize, file_image_base: u64) -> u64 {
        match self {
            Placement::Bias(bias) => runtime.wrapping_sub(bias) as u64,
            Placement::LoadBase(base) => {
                file_image_base.wrapping_add(runtime.wrapping_sub(base) as u64)
            }
        }
    }
}

/// One loaded executable or shared library.
#[derive(Clone, Debug)]
pub(crate) struct LoadedModule {
    /// The module's path, as shown in notes and used to find its separate debug files.
    pub(crate) path: PathBuf,
    /// Where to read the module's bytes when not from `path`: on Linux the main executable
    /// is read through `/proc/self/exe`, which still opens the running image after the file
    /// at `path` has been replaced or deleted.
    pub(crate) source: Option<PathBuf>,
    pub(crate) placement: Placement,
    /// Runtime address ranges the module occupies (its loaded segments).
    pub(crate) ranges: Vec<Range<usize>>,
}

/// A snapshot of the process's modules, taken on first use and again whenever an address
/// falls outside all of them (a library may have been loaded since). Each address is looked
/// up once per [`Symbolizer`](super::Symbolizer), so a miss costs one refresh at most.
#[derive(Debug, Default)]
pub(crate) struct ModuleMap {
    modules: Vec<LoadedModule>,
}

impl ModuleMap {
    pub(crate) fn new() -> ModuleMap {
        ModuleMap {
            modules: Vec::new(),
        }
    }

    /// The module containing `address`, if any.
    pub(crate) fn find(&mut self, address: usize) -> Option<LoadedModule> {
        if let Some(found) = imp::module_containing(address) {
            return Some(found);
        }
        if let Some(found) = self.search(address) {
            return Some(found);
        }
        self.modules = imp::loaded_modules();
        self.search(address)
    }

    fn search(&self, address: usize) -> Option<LoadedModule> {
        self.modules
            .iter()
            .find(|module| module.ranges.iter().any(|range| range.contains(&address)))
            .cloned()
    }
}
