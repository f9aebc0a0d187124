//! Linux and Android: the dynamic linker's module list through `dl_iterate_phdr`.
//!
//! For each loaded object the linker reports its load bias (`dlpi_addr`: the amount added to
//! every address in the file, non-zero for PIE executables and shared libraries) and its
//! program headers. The `PT_LOAD` segments give the ranges the object occupies. The main
//! executable is reported with an empty name; `std::env::current_exe` names it.
//!
//! The main executable's bytes are read through `/proc/self/exe` rather than its path. A
//! program that is rebuilt or upgraded while it runs has its file replaced on disk: the path
//! then names another file, or none (`current_exe` reads `<path> (deleted)`), while the
//! `/proc` link still opens the image that is running. Its path is kept for notes and for
//! finding separate debug files.

use core::ffi::{c_char, c_int, c_void, CStr};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{LoadedModule, Placement};
use crate::fork_lock::ForkHandlers;

const PT_LOAD: u32 = 1;

/// Opens the file the process is running, even once its path names another file or none.
const RUNNING_IMAGE: &str = "/proc/self/exe";

#[cfg(target_pointer_width = "64")]
#[repr(C)]
struct ProgramHeader {
    p_type: u32,
    p_flags: u32,
    p_offset: u64,
    p_vaddr: u64,
    p_paddr: u64,
    p_filesz: u64,
    p_memsz: u64,
    p_align: u64,
}

#[cfg(target_pointer_width = "32")]
#[repr(C)]
struct ProgramHeader {
    p_type: u32,
    p_offset: u32,
    p_vaddr: u32,
    p_paddr: u32,
    p_filesz: u32,
    p_memsz: u32,
    p_flags: u32,
    p_align: u32,
}

/// The leading fields of `struct dl_phdr_info`; the linker passes the real size, and later
/// fields (`dlpi_adds`, TLS data) are never read.
#[repr(C)]
struct DlPhdrInfo {
    dlpi_addr: usize,
    dlpi_name: *const c_char,
    dlpi_phdr: *const ProgramHeader,
    dlpi_phnum: u16,
}

extern "C" {
    fn dl_iterate_phdr(
        callback: Option<
            unsafe extern "C" fn(info: *mut DlPhdrInfo, size: usize, data: *mut c_void) -> c_int,
        >,
        data: *mut c_void,
    ) -> c_int;
}

crate::fork_lock::fork_safe_mutex! {
    /// Held while `dl_iterate_phdr` runs. glibc holds the dynamic loader's lock for the
    /// whole walk and does not take it around `fork()`, so a child forked mid-walk would
    /// inherit it held, and its own first lookup would hang. A fork waits for this instead.
    static PHDR_WALK: () = ();
}

/// The module walk's lock's fork handlers.
pub(super) fn fork_handlers() -> Option<ForkHandlers> {
    Some(PHDR_WALK.fork_handlers())
}

pub(super) fn loaded_modules() -> Vec<LoadedModule> {
    let mut modules: Vec<LoadedModule> = Vec::new();
    let walking = PHDR_WALK.lock();
    // SAFETY: `collect_module` matches the callback signature, and `data` points at a live
    // Vec that only `collect_module` touches while `dl_iterate_phdr` runs.
    unsafe {
        dl_iterate_phdr(
            Some(collect_module),
            (&mut modules as *mut Vec<LoadedModule>).cast(),
        );
    }
    drop(walking);
    let main_executable = std::env::current_exe().ok();
    let running_image = Path::new(RUNNING_IMAGE);
    let running_image = std::fs::metadata(running_image)
        .is_ok()
        .then(|| running_image.to_path_buf());
    for module in &mut modules {
        if module.path.as_os_str().is_empty() {
            if let Some(path) = &main_executable {
                module.path = path.clone();
                module.source = running_image.clone();
            }
        }
    }
    modules.retain(|module| !module.path.as_os_str().is_empty() && !module.ranges.is_empty());
    modules
}

pub(super) fn module_containing(_address: usize) -> Option<LoadedModule> {
    None
}

/// # Safety
///
/// Called by `dl_iterate_phdr` only, with `info` valid for this call and `data` the
/// `Vec<LoadedModule>` passed by [`loaded_modules`].
unsafe extern "C" fn collect_module(
    info: *mut DlPhdrInfo,
    _size: usize,
    data: *mut c_void,
) -> c_int {
    // SAFETY: per this function's contract both pointers are valid and unaliased for the call.
    let (info, modules) = unsafe { (&*info, &mut *data.cast::<Vec<LoadedModule>>()) };
    let path = if info.dlpi_name.is_null() {
        PathBuf::new()
    } else {
        // SAFETY: a non-null `dlpi_name` is a NUL-terminated string owned by the linker.
        let name = unsafe { CStr::from_ptr(info.dlpi_name) };
        PathBuf::from(OsStr::from_bytes(name.to_bytes()))
    };
    let headers: &[ProgramHeader] = if info.dlpi_phdr.is_null() {
        &[]
    } else {
        // SAFETY: the linker gives `dlpi_phnum` program headers at `dlpi_phdr`.
        unsafe { core::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) }
    };
    let ranges = headers
        .iter()
        .filter(|header| header.p_type == PT_LOAD && header.p_memsz > 0)
        .map(|header| {
            let start = info.dlpi_addr.wrapping_add(header.p_vaddr as usize);
            start..start.wrapping_add(header.p_memsz as usize)
        })
        .collect();
    modules.push(LoadedModule {
        path,
        source: None,
        placement: Placement::Bias(info.dlpi_addr),
        ranges,
    });
    0
}
