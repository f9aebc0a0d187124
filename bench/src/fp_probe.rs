//! Were frame pointers in effect when this binary was compiled?
//!
//! Call-site capture walks frame pointers, and the benchmark is meant to run with
//! `-C force-frame-pointers=yes` (see `bench/.cargo/config.toml`). Flags are easy to lose
//! (running cargo from the wrong directory, a `RUSTFLAGS` override), so each binary checks
//! its own code instead of trusting the build.
//!
//! The check: an outer function reads its frame-pointer register and passes it to an inner
//! one. With frame pointers, the inner function's register points at its own frame record,
//! whose first word is the saved outer value. Without them the register holds arbitrary data,
//! so it is dereferenced only when it lies inside the live stack between the current stack
//! pointer and a local of the outer function, memory that is certainly mapped.

use std::hint::black_box;

/// `Some(true)` if this crate's functions keep a frame-pointer chain, `Some(false)` if not,
/// `None` on architectures the probe does not know.
pub fn frame_pointers_in_effect() -> Option<bool> {
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        Some(outer())
    } else {
        None
    }
}

#[inline(never)]
fn outer() -> bool {
    let anchor = black_box(0u64);
    let bound = &anchor as *const u64 as usize;
    let result = inner(frame_register(), bound);
    black_box(&anchor);
    black_box(result)
}

#[inline(never)]
fn inner(outer_frame: usize, stack_bound: usize) -> bool {
    // A call keeps this function from being a leaf, so it has a frame when frame pointers
    // are on, whatever the leaf policy.
    black_box(stack_bound);
    let frame = frame_register();
    let sp = stack_register();
    let word = core::mem::size_of::<usize>();
    if frame == 0 || frame & (word - 1) != 0 || frame < sp || frame + word > stack_bound {
        return false;
    }
    // SAFETY: `frame` is aligned and lies in [sp, stack_bound), part of this thread's live
    // stack: `stack_bound` is the address of a local in `outer`, which is still running.
    let saved = unsafe { (frame as *const usize).read_volatile() };
    saved == outer_frame
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn frame_register() -> usize {
    let value: usize;
    // SAFETY: reads a register; touches no memory and no flags.
    unsafe {
        core::arch::asm!("mov {}, rbp", out(reg) value, options(nomem, nostack, preserves_flags))
    };
    value
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn stack_register() -> usize {
    let value: usize;
    // SAFETY: reads a register; touches no memory and no flags.
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) value, options(nomem, nostack, preserves_flags))
    };
    value
}

#[cfg(target_arch = "aarch64")]
#[inline(always)]
fn frame_register() -> usize {
    let value: usize;
    // SAFETY: reads a register; touches no memory and no flags.
    unsafe {
        core::arch::asm!("mov {}, x29", out(reg) value, options(nomem, nostack, preserves_flags))
    };
    value
}

#[cfg(target_arch = "aarch64")]
#[inline(always)]
fn stack_register() -> usize {
    let value: usize;
    // SAFETY: reads a register; touches no memory and no flags.
    unsafe {
        core::arch::asm!("mov {}, sp", out(reg) value, options(nomem, nostack, preserves_flags))
    };
    value
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn frame_register() -> usize {
    0
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn stack_register() -> usize {
    0
}

/// The probe's answer as the `fp=` value of a `META` line.
pub fn describe() -> &'static str {
    match frame_pointers_in_effect() {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}
