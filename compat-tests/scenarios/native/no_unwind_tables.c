/*
 * A C function with frame pointers but no unwind tables, for the
 * `no_unwind_tables` scenario. build.rs compiles it with
 * -fno-asynchronous-unwind-tables -fno-unwind-tables, so the object has no
 * .eh_frame: a DWARF unwinder (dhat's) cannot step past this frame, while a
 * frame-pointer walker (mod-alloc's) can.
 */

typedef void (*no_unwind_callback)(int);

static volatile int calls;

void no_unwind_call(no_unwind_callback callback, int arg)
{
    calls += 1;
    callback(arg);
    __asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
}
