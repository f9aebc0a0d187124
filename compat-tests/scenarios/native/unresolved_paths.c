/*
 * Two call paths that differ only in frames without symbols (dhat issue #29).
 *
 * `path_a` and `path_b` are `static`, and build.rs strips every local symbol
 * from the object, so a symboliser finds neither a name nor debug info for
 * them: dhat prints nothing for those frames. Both are reached from the one
 * indirect call in `dup_frames_run`, so every other frame of the two stacks
 * has the same instruction address. Frame pointers are kept for frame-pointer
 * walkers; .eh_frame (which strip keeps) serves DWARF unwinders.
 */

typedef void (*dup_frames_callback)(void);

/* Different bodies, so no identical-code folding can merge the two. */
static volatile int visits[2];

__attribute__((noinline)) static void path_a(dup_frames_callback callback)
{
    visits[0] += 1;
    callback();
    __asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
}

__attribute__((noinline)) static void path_b(dup_frames_callback callback)
{
    visits[1] += 3;
    callback();
    __asm__ volatile("" ::: "memory");
}

void dup_frames_run(int which, dup_frames_callback callback)
{
    static void (*const paths[2])(dup_frames_callback) = {path_a, path_b};
    paths[which & 1](callback); /* the single call instruction for both paths */
    __asm__ volatile("" ::: "memory");
}
