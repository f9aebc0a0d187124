//! Windows: the loader names the module containing an address.
//!
//! `GetModuleHandleExW` with `GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS` returns the module's
//! base (its `HMODULE`), and `GetModuleFileNameW` its path. The base is all that is needed:
//! the file's header gives the preferred image base and section RVAs.

use core::ffi::c_void;
use std::ffi::OsString;
use std::os::windows::ffi::OsStringExt;
use std::path::PathBuf;

use super::{LoadedModule, Placement};
use crate::fork_lock::ForkHandlers;

const GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS: u32 = 0x4;
const GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT: u32 = 0x2;

#[link(name = "kernel32")]
extern "system" {
    fn GetModuleHandleExW(flags: u32, module_name: *const u16, module: *mut *mut c_void) -> i32;
    fn GetModuleFileNameW(module: *mut c_void, file_name: *mut u16, size: u32) -> u32;
}

/// Listing the modules takes no lock of the crate's here.
pub(super) fn fork_handlers() -> Option<ForkHandlers> {
    None
}

pub(super) fn loaded_modules() -> Vec<LoadedModule> {
    Vec::new()
}

pub(super) fn module_containing(address: usize) -> Option<LoadedModule> {
    let mut module: *mut c_void = core::ptr::null_mut();
    // SAFETY: with FROM_ADDRESS the "name" is any address; the handle is written to `module`.
    // UNCHANGED_REFCOUNT means there is nothing to release.
    let found = unsafe {
        GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
            address as *const u16,
            &mut module,
        )
    };
    if found == 0 || module.is_null() {
        return None;
    }
    let mut buffer = vec![0u16; 1024];
    loop {
        // SAFETY: `buffer` has room for `buffer.len()` UTF-16 units.
        let written =
            unsafe { GetModuleFileNameW(module, buffer.as_mut_ptr(), buffer.len() as u32) }
                as usize;
        if written == 0 {
            return None;
        }
        if written < buffer.len() {
            buffer.truncate(written);
            break;
        }
        if buffer.len() >= 1 << 16 {
            return None;
        }
        let doubled = buffer.len() * 2;
        buffer.resize(doubled, 0);
    }
    let base = module as usize;
    Some(LoadedModule {
        path: PathBuf::from(OsString::from_wide(&buffer)),
        source: None,
        placement: Placement::LoadBase(base),
        // Not needed: the loader is asked about every address.
        ranges: Vec::new(),
    })
}
