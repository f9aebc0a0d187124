//! x86_64: the frame pointer is `rbp`, and each record is `[saved rbp, return address]`.

/// The frame pointer and stack pointer of the function this is inlined into, read after that
/// function's prologue has run.
///
/// Both are stored through a pointer to a local. A function that has a stack object must
/// have executed its prologue (which, with frame pointers on, sets `rbp`) before touching it,
/// so LLVM's shrink-wrapping cannot schedule this read ahead of the prologue and hand us the
/// caller's `rbp` instead.
#[inline(always)]
pub(super) fn frame_and_stack_pointer() -> (usize, usize) {
    let mut registers = [0usize; 2];
    // SAFETY: the asm writes two words to `registers`, a live, aligned local array of two
    // words, and touches nothing else (no stack use, flags untouched).
    unsafe {
        core::arch::asm!(
            "mov qword ptr [{out}], rbp",
            "mov qword ptr [{out} + 8], rsp",
            out = in(reg) registers.as_mut_ptr(),
            options(nostack, preserves_flags),
        );
    }
    (registers[0], registers[1])
}

/// Return addresses are plain addresses on x86_64.
#[inline(always)]
pub(super) fn clean_return_address(address: usize) -> usize {
    address
}
