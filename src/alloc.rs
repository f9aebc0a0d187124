//! [`ModAlloc`], the `GlobalAlloc` wrapper: the allocation hot path.
//!
//! Each method calls the inner allocator first. A null result is returned at once with
//! nothing recorded; otherwise the event goes to the calling thread's counters. Nothing here
//! takes a lock, allocates, or can panic; the tiers it calls into say what they do (see the
//! crate docs, "Safety of the hot path").
//!
//! The common case of an event is a few instructions inlined next to the inner call, with no
//! call of its own ([`thread_state::record_alloc`] and its siblings). Everything rare (a
//! thread's first event, a suspended thread, a peak to raise, a drift to publish) is in cold
//! functions, entered so that `alloc` and `dealloc` still end in a tail call: the fast path
//! keeps no register alive across a call it does not need.
//!
//! With `backtraces`, `alloc`, `alloc_zeroed` and `realloc` then check one relaxed flag; while
//! a [`crate::Profiler`] runs they walk the stack from inside the method into a buffer on the
//! stack and count the event at that call site (`crate::sites`). A `realloc` is charged to
//! the stack that called `realloc`, with its new size. `dealloc` has no call site.

use std::alloc::{GlobalAlloc, Layout, System};

use crate::thread_state;

/// Walks the stack once for a new block and hands the frames to every tier that wants them:
/// the call-site table (while a `Profiler` runs) and the heap profiler (while a dhat-style
/// session runs). Always inlined, so the walk starts in the `GlobalAlloc` method.
///
/// `heap_wants` is false for a realloc of a block the heap profiler already tracks (it keeps
/// its original program point). The walk runs whenever a tier is on, even for a thread whose
/// events are suspended: the walker calibrates its skip from the probe allocations a
/// profiler's start makes with its thread suspended.
#[cfg(feature = "backtraces")]
#[inline(always)]
fn record_new_block(ptr: *mut u8, size: usize, heap_wants: bool) {
    use crate::walk::{capture, MAX_FRAMES};
    use core::mem::MaybeUninit;

    let sites_depth = if crate::sites::capture_active() {
        crate::sites::capture_depth()
    } else {
        0
    };
    #[cfg(feature = "dhat-compat")]
    let heap_depth = if heap_wants && crate::heap::tracking_heap() {
        crate::heap::capture_depth()
    } else {
        0
    };
    #[cfg(not(feature = "dhat-compat"))]
    let heap_depth = {
        let _ = (ptr, heap_wants);
        0
    };
    let depth = sites_depth.max(heap_depth).min(MAX_FRAMES);
    if depth == 0 {
        return;
    }
    // The walk writes the frames it finds and nothing else, so the buffer is left
    // uninitialised: no zeroing on the hot path, whatever the depth.
    let mut buffer = [MaybeUninit::<usize>::uninit(); MAX_FRAMES];
    let frames = capture(&mut buffer[..depth]);
    if sites_depth > 0 {
        crate::sites::record(&frames[..frames.len().min(sites_depth)], size);
    }
    #[cfg(feature = "dhat-compat")]
    if heap_depth > 0 && thread_state::heap_recording() {
        crate::heap::on_alloc(ptr as usize, size, frames);
    }
}

/// Records what `alloc` or `alloc_zeroed` returned (nothing for a null) and passes it on.
/// Always inlined: each allocator method keeps its own walk call site, as the walker's
/// calibration expects.
#[inline(always)]
fn record_allocation(ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        return ptr;
    }
    // The rare case hands `ptr` through the cold function, so without `backtraces` it is a
    // tail call and the common case needs no register kept across a call.
    let ptr = if thread_state::record_alloc(size) {
        ptr
    } else {
        thread_state::alloc_slow(ptr, size)
    };
    #[cfg(feature = "backtraces")]
    record_new_block(ptr, size, true);
    ptr
}

/// The rare case of `dealloc`: the event needs the slow path, then the memory goes back. Cold
/// and out of line, so `dealloc` ends in a tail call to the inner allocator either way.
///
/// # Safety
///
/// As for [`GlobalAlloc::dealloc`] on `inner`.
#[cold]
#[inline(never)]
unsafe fn dealloc_slow<A: GlobalAlloc>(inner: &A, ptr: *mut u8, layout: Layout) {
    thread_state::dealloc_slow(layout.size());
    // SAFETY: the caller guarantees `ptr` came from `inner` with `layout`.
    unsafe { inner.dealloc(ptr, layout) };
}

/// A global allocator that counts every call it forwards to an inner allocator.
///
/// ```
/// use mod_alloc::ModAlloc;
///
/// #[global_allocator]
/// static GLOBAL: ModAlloc = ModAlloc::new();
/// # fn main() {}
/// ```
///
/// Any other `GlobalAlloc` can sit underneath:
///
/// ```
/// use std::alloc::System;
/// use mod_alloc::ModAlloc;
///
/// static WRAPPED: ModAlloc<System> = ModAlloc::with_inner(System);
/// ```
///
/// The counters are process-wide, not per value: install one `ModAlloc` as the global
/// allocator and read the figures through [`crate::Profiler`], [`crate::ThreadProfiler`] or
/// [`crate::stats`].
#[derive(Debug, Default, Clone, Copy)]
pub struct ModAlloc<A = System> {
    inner: A,
}

impl ModAlloc<System> {
    /// Wraps the system allocator.
    pub const fn new() -> Self {
        ModAlloc { inner: System }
    }
}

impl<A> ModAlloc<A> {
    /// Wraps any allocator.
    pub const fn with_inner(inner: A) -> Self {
        ModAlloc { inner }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

#[cfg(feature = "dhat-compat")]
#[cfg_attr(docsrs, doc(cfg(feature = "dhat-compat")))]
impl<A> ModAlloc<A> {
    /// Writes what the running profiler has recorded to `path` as a DHAT file (for
    /// Valgrind's `dh_view.html`) without stopping it.
    ///
    /// - While a [`dhat_compat::Profiler`](crate::dhat_compat::Profiler) runs, this is its
    ///   profile so far: a heap profile in dhat's `rust-heap` format, or an ad hoc one in
    ///   dhat's ad hoc format. It takes precedence over a native profiler.
    /// - Otherwise, while a [`Profiler`](crate::Profiler) runs, this is its call-site table,
    ///   the figures of [`Profiler::call_sites`](crate::Profiler::call_sites) with every frame
    ///   named: one program point per site with its bytes (`tb`) and blocks (`tbk`), and no
    ///   lifetimes or peaks, which the call-site table does not keep. The file's `mode` is
    ///   `"mod-alloc-call-sites"` and `te` is the time in microseconds since the table
    ///   started, when a `Profiler` started while none ran (the span the table covers, which
    ///   outlasts that profiler while others run). Events that reached no site
    ///   (their walk captured no frame, the table was full, or the insert was contended) are
    ///   one program point with no frames, counted at the viewer's root, with their number of
    ///   blocks and 0 bytes: their bytes are not recorded.
    ///
    /// With neither running, or after a failed `dhat_compat::assert!` with no `Profiler`
    /// running, this returns an error and writes nothing. The profiler's own work is not
    /// recorded.
    ///
    /// ```no_run
    /// use mod_alloc::{ModAlloc, Profiler};
    ///
    /// #[global_allocator]
    /// static GLOBAL: ModAlloc = ModAlloc::new();
    ///
    /// fn main() -> std::io::Result<()> {
    ///     let profiler = Profiler::start();
    ///     let v = vec![1u8; 1024];
    ///     GLOBAL.write_dhat_json("dhat-heap.json")?;
    ///     drop(v);
    ///     let _stats = profiler.stop();
    ///     Ok(())
    /// }
    /// ```
    ///
    /// The same call with a dhat-style heap profile:
    ///
    /// ```no_run
    /// use mod_alloc::{dhat_compat, ModAlloc};
    ///
    /// #[global_allocator]
    /// static GLOBAL: ModAlloc = ModAlloc::new();
    ///
    /// fn main() -> std::io::Result<()> {
    ///     let _profiler = dhat_compat::Profiler::builder().testing().build();
    ///     let v = vec![1u8; 1024];
    ///     GLOBAL.write_dhat_json("dhat-heap.json")?;
    ///     drop(v);
    ///     Ok(())
    /// }
    /// ```
    pub fn write_dhat_json<P: AsRef<std::path::Path>>(&self, path: P) -> std::io::Result<()> {
        crate::report::write_dhat_json(path.as_ref())
    }
}

// SAFETY: every method forwards to `A` with the caller's arguments unchanged and returns
// `A`'s result unchanged, so `A`'s implementation of the `GlobalAlloc` contract carries over.
// The bookkeeping never unwinds, and its own memory comes from `System`: nothing here
// allocates through the global allocator (the walker calibrates in a profiler's start, in
// user code; see `walk`).
unsafe impl<A: GlobalAlloc> GlobalAlloc for ModAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        record_allocation(unsafe { self.inner.alloc(layout) }, layout.size())
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        record_allocation(unsafe { self.inner.alloc_zeroed(layout) }, layout.size())
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // The heap profiler forgets the block before the memory goes back, so an allocation
        // on another thread that reuses the address cannot be confused with it.
        #[cfg(feature = "dhat-compat")]
        if crate::heap::tracking_heap() {
            crate::heap::on_dealloc(ptr as usize, layout.size());
        }
        // A free cannot fail, so it is counted first and the inner call is the last thing
        // here (a tail call on both paths, with no registers to keep across a call).
        if thread_state::record_dealloc(layout.size()) {
            // SAFETY: the caller guarantees `ptr` came from this allocator with `layout`.
            unsafe { self.inner.dealloc(ptr, layout) };
        } else {
            // SAFETY: as above.
            unsafe { dealloc_slow(&self.inner, ptr, layout) };
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A tracked block leaves the heap profiler's table before the inner realloc may free
        // its address, and goes back if the realloc fails.
        #[cfg(feature = "dhat-compat")]
        let tracked = if crate::heap::tracking_heap() {
            crate::heap::before_realloc(ptr as usize)
        } else {
            None
        };
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, which we pass on.
        let new_ptr = unsafe { self.inner.realloc(ptr, layout, new_size) };
        #[cfg(feature = "dhat-compat")]
        let heap_wants = match tracked {
            Some(block) => {
                crate::heap::after_realloc(
                    block,
                    ptr as usize,
                    new_ptr as usize,
                    layout.size(),
                    new_size,
                );
                false
            }
            // A block from before the session is a new block at the realloc's call site.
            None => true,
        };
        #[cfg(not(feature = "dhat-compat"))]
        let heap_wants = false;
        if !new_ptr.is_null() {
            let recorded = thread_state::record_realloc(layout.size(), new_size);
            if !recorded {
                thread_state::realloc_slow(layout.size(), new_size);
            }
            #[cfg(feature = "backtraces")]
            record_new_block(new_ptr, new_size, heap_wants);
        }
        #[cfg(not(feature = "backtraces"))]
        let _ = heap_wants;
        new_ptr
    }
}
