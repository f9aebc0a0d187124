//! macOS and iOS: dyld's image list.
//!
//! dyld reports each image's Mach-O header address and its slide (the ASLR offset added to
//! every address in the file). The image's `LC_SEGMENT_64` load commands, read from the
//! mapped header, give the ranges it occupies.

use core::ffi::{c_char, CStr};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::{LoadedModule, Placement};
use crate::fork_lock::ForkHandlers;

const MH_MAGIC_64: u32 = 0xfeed_facf;
const LC_SEGMENT_64: u32 = 0x19;

#[repr(C)]
struct MachHeader64 {
    magic: u32,
    cputype: i32,
    cpusubtype: i32,
    filetype: u32,
    ncmds: u32,
    sizeofcmds: u32,
    flags: u32,
    reserved: u32,
}

#[repr(C)]
struct LoadCommand {
    cmd: u32,
    cmdsize: u32,
}

#[repr(C)]
struct SegmentCommand64 {
    cmd: u32,
    cmdsize: u32,
    segname: [u8; 16],
    vmaddr: u64,
    vmsize: u64,
    fileoff: u64,
    filesize: u64,
}

extern "C" {
    fn _dyld_image_count() -> u32;
    fn _dyld_get_image_header(image_index: u32) -> *const MachHeader64;
    fn _dyld_get_image_vmaddr_slide(image_index: u32) -> isize;
    fn _dyld_get_image_name(image_index: u32) -> *const c_char;
}

/// Listing the modules takes no lock of the crate's here.
pub(super) fn fork_handlers() -> Option<ForkHandlers> {
    None
}

pub(super) fn loaded_modules() -> Vec<LoadedModule> {
    let mut modules = Vec::new();
    // SAFETY: `_dyld_image_count` has no preconditions.
    let count = unsafe { _dyld_image_count() };
    for index in 0..count {
        // SAFETY: `index` is below the image count. An image unloaded meanwhile yields null
        // pointers, which are checked below.
        let (header, slide, name) = unsafe {
            (
                _dyld_get_image_header(index),
                _dyld_get_image_vmaddr_slide(index),
                _dyld_get_image_name(index),
            )
        };
        if header.is_null() || name.is_null() {
            continue;
        }
        // SAFETY: dyld's image names are NUL-terminated strings that live with the image.
        let name = unsafe { CStr::from_ptr(name) };
        let path = PathBuf::from(OsStr::from_bytes(name.to_bytes()));
        // SAFETY: `header` is the mapped Mach-O header of a loaded image.
        let ranges = unsafe { segment_ranges(header, slide as usize) };
        modules.push(LoadedModule {
            path,
            source: None,
            placement: Placement::Bias(slide as usize),
            ranges,
        });
    }
    modules
}

pub(super) fn module_containing(_address: usize) -> Option<LoadedModule> {
    None
}

/// The runtime ranges of the image's segments, skipping `__PAGEZERO`.
///
/// # Safety
///
/// `header` points at the mapped header of a loaded 64-bit Mach-O image.
unsafe fn segment_ranges(header: *const MachHeader64, slide: usize) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    // SAFETY: per the contract, the header is mapped and readable.
    let header_ref = unsafe { &*header };
    if header_ref.magic != MH_MAGIC_64 {
        return ranges;
    }
    let mut command = header
        .cast::<u8>()
        .wrapping_add(core::mem::size_of::<MachHeader64>());
    for _ in 0..header_ref.ncmds {
        // SAFETY: the load commands follow the header inside the mapped image.
        let load = unsafe { &*command.cast::<LoadCommand>() };
        if load.cmd == LC_SEGMENT_64 {
            // SAFETY: an `LC_SEGMENT_64` command is a `segment_command_64`.
            let segment = unsafe { &*command.cast::<SegmentCommand64>() };
            let is_page_zero = segment.fileoff == 0 && segment.filesize == 0;
            if segment.vmsize > 0 && !is_page_zero {
                let start = (segment.vmaddr as usize).wrapping_add(slide);
                ranges.push(start..start.wrapping_add(segment.vmsize as usize));
            }
        }
        if load.cmdsize == 0 {
            break;
        }
        command = command.wrapping_add(load.cmdsize as usize);
    }
    ranges
}
