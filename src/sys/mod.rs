//! The only place that talks to the operating system.
//!
//! Every OS or C-library call the crate makes is declared in one file under this module, and
//! this file is the single `cfg` dispatch point that picks it. Each backend exports the same
//! names, so callers never carry a `#[cfg(target_os)]` of their own:
//!
//! - [`register_thread_exit`]: run a callback with a pointer when the calling thread exits,
//!   without using a `thread_local!` destructor (a global allocator must not register those).
//!
//! Backends: `unix.rs` (POSIX thread-specific keys), `windows.rs` (fiber-local storage) and
//! `other.rs`, which does nothing and documents what is lost.

#[cfg(unix)]
#[path = "unix.rs"]
mod imp;

#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

#[cfg(not(any(unix, windows)))]
#[path = "other.rs"]
mod imp;

pub(crate) use imp::register_thread_exit;

/// Signature of a thread-exit callback: it receives the pointer given at registration.
pub(crate) type ThreadExitFn = fn(*mut u8);
