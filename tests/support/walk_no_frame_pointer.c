/*
 * A C frame without a frame record, for tests/walk_c_frames.rs. The test compiles this file
 * at run time with -O2 -fomit-frame-pointer into a shared object and calls it through dlopen.
 *
 * c_calls_back calls back into Rust, which walks the stack from inside the callback. On
 * x86_64 the frame pointer register holds a value chosen by the caller for the duration of
 * the callback, the way optimised C code uses rbp as an ordinary register, so the walk meets
 * a bogus "frame pointer" in the callback's own record.
 */

typedef unsigned long (*walk_callback)(unsigned long);

unsigned long c_calls_back(walk_callback callback, unsigned long junk)
{
    unsigned long result;
#if defined(__x86_64__)
    /* Step over the red zone (this looks like a leaf function to the compiler), save rbp and
     * rbx, align the stack for the call, load `junk` into rbp, call, and undo it all. */
    unsigned long target = (unsigned long)callback;
    __asm__ volatile(
        "sub $128, %%rsp\n\t"
        "push %%rbp\n\t"
        "push %%rbx\n\t"
        "mov %%rsp, %%rbx\n\t"
        "and $-16, %%rsp\n\t"
        "mov %%rdi, %%rbp\n\t"
        "call *%%rsi\n\t"
        "mov %%rbx, %%rsp\n\t"
        "pop %%rbx\n\t"
        "pop %%rbp\n\t"
        "add $128, %%rsp\n\t"
        : "=a"(result), "+D"(junk), "+S"(target)
        :
        : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory", "cc",
          "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
          "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
#else
    /* Elsewhere (aarch64 keeps x29 reserved even without frame pointers) the frame simply
     * has no record of its own, so the walk skips over it. */
    result = callback(junk);
#endif
    return result + 1;
}
