//! The place for the hot path's calls to the operating system.
//!
//! Every OS or C-library call the allocator, the counters and the frame-pointer walker make is
//! declared in one file under this module, and this file is the single `cfg` dispatch point
//! that picks it. (The Windows walk declares `RtlCaptureStackBackTrace` beside it, in
//! `walk/windows.rs`, which `walk` picks in its own dispatch point. Report-time
//! symbolication lists loaded modules through its own calls, kept beside it in
//! `symbolize/modules`: `dl_iterate_phdr`, dyld's `_dyld_*`, `GetModuleHandleExW` and
//! `GetModuleFileNameW`.) Each backend exports the same names, so callers never carry a
//! `#[cfg(target_os)]` of their own:
//!
//! - [`register_thread_exit`]: run a callback with a pointer when the calling thread exits,
//!   without using a `thread_local!` destructor (a global allocator must not register those).
//! - [`register_fork_handlers`]: hooks around `fork()` (POSIX `pthread_atfork`; nothing
//!   elsewhere), so none of the crate's locks is inherited held by a thread the child does
//!   not have.
//! - [`run_at_load!`]: a function the loader runs before `main` (an initialiser section),
//!   where the binary format has one; here so the fork handlers are in place before any
//!   thread can fork.
//! - `thread_stack_bounds` (feature `backtraces`, not on Windows): the calling thread's stack
//!   as `(low, high)`, for the frame-pointer walker's bounds checks. Windows walks with the
//!   system unwinder instead (`walk/windows.rs`), which needs no bounds.
//! - `Mapping` (feature `symbolicate`): a file's bytes mapped read-only (`mmap` on 64-bit
//!   Unix, `MapViewOfFile` on Windows), or read into memory where mapping is unavailable;
//!   for the symbolizer, never the hot path. The portable part is `mapping.rs`; each backend
//!   provides `map_file` and `unmap_file`, and `other.rs` always declines.
//!
//! Backends: `unix.rs` (POSIX thread-specific keys), `windows.rs` (fiber-local storage) and
//! `other.rs`, which does nothing and documents what is lost. Stack bounds come from
//! `stack_linux.rs` (`pthread_getattr_np`), `stack_macos.rs` (`pthread_get_stackaddr_np`)
//! or `stack_other.rs` (none).

#[cfg(unix)]
#[path = "unix.rs"]
mod imp;

#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

#[cfg(not(any(unix, windows)))]
#[path = "other.rs"]
mod imp;

#[cfg(feature = "backtraces")]
pub(crate) use imp::register_fork_handlers;
pub(crate) use imp::register_thread_exit;

#[cfg(feature = "symbolicate")]
mod mapping;
#[cfg(feature = "symbolicate")]
pub(crate) use mapping::Mapping;

#[cfg(all(
    feature = "backtraces",
    any(target_os = "linux", target_os = "android")
))]
#[path = "stack_linux.rs"]
mod stack;

#[cfg(all(feature = "backtraces", any(target_os = "macos", target_os = "ios")))]
#[path = "stack_macos.rs"]
mod stack;

#[cfg(all(
    feature = "backtraces",
    not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        windows
    ))
))]
#[path = "stack_other.rs"]
mod stack;

#[cfg(all(feature = "backtraces", not(windows)))]
pub(crate) use stack::thread_stack_bounds;

/// Makes `$init`, an `extern "C" fn()`, one of the initialisers the loader runs as it loads
/// the binary that holds the crate: before `main` in an executable, at `dlopen` in a shared
/// library. ELF targets list it in `.init_array`, Apple's in `__DATA,__mod_init_func`; on
/// other targets it is never run, so callers must also do its work on first use. It may run
/// before the standard library has set up `main`'s thread: keep it to calls that need no
/// such set-up, such as the C library's (and std's unbuffered stderr, for a rare message).
#[cfg(feature = "backtraces")]
macro_rules! run_at_load {
    ($init:path) => {
        const _: () = {
            #[cfg(any(
                target_os = "linux",
                target_os = "android",
                target_os = "freebsd",
                target_os = "netbsd",
                target_os = "openbsd",
                target_os = "dragonfly",
                target_os = "illumos",
                target_os = "solaris"
            ))]
            #[used]
            #[link_section = ".init_array"]
            static RUN_AT_LOAD: extern "C" fn() = $init;

            #[cfg(any(target_os = "macos", target_os = "ios"))]
            #[used]
            #[link_section = "__DATA,__mod_init_func"]
            static RUN_AT_LOAD: extern "C" fn() = $init;
        };
    };
}
#[cfg(feature = "backtraces")]
pub(crate) use run_at_load;

/// Signature of a thread-exit callback: it receives the pointer given at registration.
pub(crate) type ThreadExitFn = fn(*mut u8);
