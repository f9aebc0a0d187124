//! aarch64: the frame pointer is `x29`, and each record is `[saved x29, saved x30 (lr)]`,
//! the same layout as on x86_64, so the same walker serves both.

/// Bits of a user-space code address: 48-bit virtual addresses, the Linux and macOS default.
/// Everything above may carry a pointer-authentication code (`-mbranch-protection=pac-ret`
/// signs `lr` before it is saved) or a top-byte tag, so it is masked off.
const ADDRESS_MASK: usize = (1 << 48) - 1;

/// The frame pointer and stack pointer of the function this is inlined into, read after that
/// function's prologue has run.
///
/// Both are stored through a pointer to a local. A function that has a stack object must
/// have executed its prologue (which, with frame pointers on, sets `x29`) before touching it,
/// so LLVM's shrink-wrapping cannot schedule this read ahead of the prologue and hand us the
/// caller's `x29` instead.
#[inline(always)]
pub(super) fn frame_and_stack_pointer() -> (usize, usize) {
    let mut registers = [0usize; 2];
    // SAFETY: the asm writes two words to `registers`, a live, aligned local array of two
    // words, and touches nothing else (no stack use, flags untouched).
    unsafe {
        core::arch::asm!(
            "mov {sp}, sp",
            "stp x29, {sp}, [{out}]",
            out = in(reg) registers.as_mut_ptr(),
            sp = out(reg) _,
            options(nostack, preserves_flags),
        );
    }
    (registers[0], registers[1])
}

/// Strips pointer-authentication and tag bits from a saved `lr`. Masking to the virtual
/// address width does what `xpaclri` does, without needing the PAuth extension, and is
/// harmless on unsigned addresses.
#[inline(always)]
pub(super) fn clean_return_address(address: usize) -> usize {
    address & ADDRESS_MASK
}
