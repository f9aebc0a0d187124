//! The walk on Windows: the system's own unwinder, `RtlCaptureStackBackTrace`.
//!
//! Windows x64 code does not keep a chain of frame records. Even with
//! `-C force-frame-pointers=yes`, the x64 ABI lets `rbp` point anywhere inside its frame, so
//! the word at `rbp` is not the caller's `rbp`. Unwinding instead reads the tables every
//! image carries (`.pdata` and `.xdata`), which the loader has already mapped. The system
//! unwinder follows them from the calling function's context.
//!
//! Called from inside a global allocator, it is safe:
//! - it allocates nothing;
//! - it reads only mapped unwind tables and the calling thread's own stack;
//! - the Windows heap itself calls it on every allocation to record allocation stacks
//!   (`gflags +ust`).
//!
//! It costs more than a frame-pointer walk, since each frame takes a table lookup.
//!
//! Its first entry, with nothing skipped, is the return address into the function that
//! called it. That is the function [`walk_from_here`] is inlined into, so the walk skips
//! that entry. It then starts, like the frame-pointer walk, at the return address into that
//! function's caller.

use core::ffi::c_void;
use core::mem::MaybeUninit;

use super::MAX_FRAMES;

#[link(name = "kernel32")]
extern "system" {
    fn RtlCaptureStackBackTrace(
        frames_to_skip: u32,
        frames_to_capture: u32,
        back_trace: *mut *mut c_void,
        back_trace_hash: *mut u32,
    ) -> u16;
}

/// Return addresses asked of the system per call. A capture at the default depth, with the
/// allocator's few frames skipped, fits in one.
const CHUNK: usize = 32;

/// Walks from the frame of the function this is inlined into, dropping leading return
/// addresses for which `skip_leading` says `true`; the same contract as the frame-pointer
/// walk, which writes at most [`MAX_FRAMES`]. Returns how many frames were written.
#[inline(always)]
pub(super) fn walk_from_here(
    frames: &mut [MaybeUninit<usize>],
    mut skip_leading: impl FnMut(usize) -> bool,
) -> usize {
    let depth = frames.len().min(MAX_FRAMES);
    let frames = &mut frames[..depth];
    let mut chunk = [core::ptr::null_mut::<c_void>(); CHUNK];
    let mut written = 0;
    let mut leading = true;
    // The entry for this very call, which returns into the function being walked from.
    let mut asked_from: u32 = 1;
    loop {
        // SAFETY: `chunk` has room for `CHUNK` pointers, and a null hash pointer asks for no
        // hash. The call reads only the thread's own stack and the loaded images' tables.
        let got = unsafe {
            RtlCaptureStackBackTrace(
                asked_from,
                CHUNK as u32,
                chunk.as_mut_ptr(),
                core::ptr::null_mut(),
            )
        } as usize;
        for &entry in &chunk[..got.min(CHUNK)] {
            let address = entry as usize;
            if address == 0 {
                return written;
            }
            if leading && skip_leading(address) {
                continue;
            }
            leading = false;
            let Some(slot) = frames.get_mut(written) else {
                return written;
            };
            slot.write(address);
            written += 1;
        }
        // A short chunk is the end of the stack.
        if got < CHUNK {
            return written;
        }
        asked_from = asked_from.saturating_add(CHUNK as u32);
    }
}

/// The system unwinder needs no stack bounds, and never meets a stack it cannot walk.
pub(crate) fn foreign_stack_seen() -> bool {
    false
}

/// See [`foreign_stack_seen`].
pub(crate) fn stack_bounds_unavailable() -> bool {
    false
}

/// See [`foreign_stack_seen`].
pub(super) fn this_thread_has_no_stack_bounds() -> bool {
    false
}
