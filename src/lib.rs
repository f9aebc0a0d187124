//! Allocation profiling as a `#[global_allocator]`.
//!
//! `mod-alloc` wraps any [`GlobalAlloc`](std::alloc::GlobalAlloc) and answers four questions
//! about the code that runs while it is installed: how many allocations, how many bytes, the
//! peak live heap, and (with `backtraces`) which call sites allocated most. With `dhat-compat`
//! it is a drop-in replacement for the `dhat` crate.
//!
//! ```
//! use mod_alloc::{ModAlloc, Profiler};
//!
//! #[global_allocator]
//! static GLOBAL: ModAlloc = ModAlloc::new();
//!
//! fn main() {
//!     let p = Profiler::start();
//!     let v: Vec<u64> = (0..1_000).collect();
//!     drop(v);
//!     let stats = p.stop();
//!     assert_eq!(stats.alloc_count, 1);
//!     assert_eq!(stats.total_bytes, 8_000);
//!     assert_eq!(stats.peak_bytes, 8_000);
//! }
//! ```
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `counters` (default) | lock-free counts, bytes, live heap and peak: [`Profiler`], [`ThreadProfiler`], [`stats`] |
//! | `backtraces` | call-site capture on x86_64 and aarch64 (a frame-pointer walk; the system unwinder on Windows), 16 frames or `Profiler::builder().frames(n)`, and a lock-free call-site table |
//! | `symbolicate` | offline function, file, line and inlined-frame names for captured call sites |
//! | `dhat-compat` | `mod_alloc::dhat_compat`, the `dhat` 0.3.3 API, and the DHAT JSON writer |
//!
//! Features are additive, and the allocation hot path uses `std` alone in every combination.
//!
//! # Measurement windows
//!
//! - [`Profiler`] measures every thread. Windows may overlap and nest in any order.
//! - [`ThreadProfiler`] and [`measure_thread`] measure the calling thread only, so a test's
//!   figures are not disturbed by other tests running in parallel.
//! - [`stats`] covers the life of the process.
//!
//! See [`AllocStats`] for each figure and the accounting rules (a `realloc` counts as a new
//! block of its full new size).
//!
//! # What is exact
//!
//! - Counts and bytes are kept per thread and summed on read. A thread's own figures are exact
//!   at every instant; process-wide figures are exact once the allocating threads are quiet.
//! - The peak is exact when the allocating thread is the one that opens and reads the window
//!   (the usual case). Other threads publish their net change to a shared level when it has
//!   drifted by 64 KiB, when they exit, and when they open or read a window, so a window's
//!   peak can be off by up to 64 KiB per other live thread, either way. It is never above the
//!   window's `total_bytes` nor below its `net_bytes`.
//! - Allocations from before a window that are freed inside it lower `net_bytes`, which can be
//!   negative.
//!
//! # Safety of the hot path
//!
//! The allocator never panics and never records its own work. Its per-thread state is a
//! `const`-initialised thread-local without a destructor, reached with `try_with`, so calls
//! made while a thread starts or while its thread-locals are destroyed are still counted (in
//! shared fallback counters).
//!
//! - The counters take no lock and allocate nothing.
//! - With `backtraces`, the stack walk and the call-site table are lock-free too. The walker
//!   calibrates itself once per process, when the first profiler starts, with a few
//!   allocations of its own made from the profiler's start with the thread's recording
//!   suspended, so they are neither counted nor walked; the allocator itself never allocates
//!   through the global allocator.
//! - With `dhat-compat`, a thread records heap events under a lock that only it takes on the
//!   common path; a process-wide lock is taken for rare work (see `MIGRATING_FROM_DHAT.md`).
//!   No lock is held across the stack walk or the inner allocator, and the profiler's tables
//!   grow with memory from `System`, never through the allocator being profiled.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod alloc;
mod counters;
mod profiler;
mod sys;
mod thread_state;

#[cfg(feature = "backtraces")]
mod callsite;
#[cfg(feature = "backtraces")]
mod diagnostics;
#[cfg(feature = "backtraces")]
mod fork_lock;
#[cfg(feature = "backtraces")]
mod sites;
#[cfg(feature = "backtraces")]
mod walk;

#[cfg(feature = "symbolicate")]
mod symbolize;

#[cfg(feature = "dhat-compat")]
#[cfg_attr(docsrs, doc(cfg(feature = "dhat-compat")))]
pub mod dhat_compat;
#[cfg(feature = "dhat-compat")]
mod heap;
#[cfg(feature = "dhat-compat")]
mod report;

/// Hooks for this crate's own tests. Not public API and not subject to semver.
#[doc(hidden)]
pub mod __private {
    /// Number of per-thread counter slots ever created.
    pub fn counter_slots() -> usize {
        crate::counters::slots::slot_count()
    }

    #[cfg(feature = "backtraces")]
    pub use crate::callsite::__with_synthetic_frames as with_synthetic_frames;
    /// The walker's test hooks.
    #[cfg(feature = "backtraces")]
    pub mod walk {
        pub use crate::walk::testing::*;
    }
}

pub use crate::alloc::ModAlloc;
#[cfg(feature = "backtraces")]
#[cfg_attr(docsrs, doc(cfg(feature = "backtraces")))]
pub use crate::callsite::{CallSite, CallSiteReport};
pub use crate::counters::{stats, AllocStats};
#[cfg(feature = "backtraces")]
#[cfg_attr(docsrs, doc(cfg(feature = "backtraces")))]
pub use crate::profiler::ProfilerBuilder;
pub use crate::profiler::{measure_thread, Profiler, ThreadProfiler};
#[cfg(feature = "symbolicate")]
#[cfg_attr(docsrs, doc(cfg(feature = "symbolicate")))]
pub use crate::symbolize::{Symbol, Symbolizer};
