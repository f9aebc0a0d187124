//! Measurement windows: [`Profiler`] for the whole process, [`ThreadProfiler`] for one thread.

use core::marker::PhantomData;

use crate::counters::peak::{self, Register};
use crate::counters::slots::{self, Counts};
use crate::counters::AllocStats;
use crate::thread_state::{self, ScopeId};

/// A process-wide measurement window: every thread's allocator calls between [`start`] and
/// [`stop`].
///
/// Windows may overlap and nest freely, on any threads. Counts are exact once the allocating
/// threads are quiet, and the peak is exact for allocations made by the thread that reads the
/// window; see the [crate docs](crate#what-is-exact) for other threads.
///
/// ```
/// use mod_alloc::Profiler;
///
/// let p = Profiler::start();
/// let v: Vec<u64> = (0..1_000).collect();
/// drop(v);
/// let stats = p.stop();
/// // Without `ModAlloc` installed as the global allocator everything reads zero.
/// assert!(stats.total_bytes >= stats.peak_bytes);
/// ```
///
/// With the `backtraces` feature, a running `Profiler` also turns on call-site capture:
/// `Profiler::call_sites` lists the stacks that allocated. Overlapping profilers share one
/// call-site table: it starts empty when a profiler starts while none runs, and each report
/// covers every event since then, also after the profiler that started it has stopped.
///
/// [`start`]: Profiler::start
/// [`stop`]: Profiler::stop
#[must_use = "a window measures nothing unless it is stopped or read"]
pub struct Profiler {
    start: Counts,
    start_level: i64,
    /// `None` only when 63 windows are already open; the peak then falls back to the
    /// process-lifetime register and may overstate.
    register: Option<Register>,
    /// Keeps call-site capture on while the window is open.
    #[cfg(feature = "backtraces")]
    call_sites: crate::sites::Session,
}

impl core::fmt::Debug for Profiler {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Profiler")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Profiler {
    /// Opens a window now. With `backtraces`, call stacks are captured at the default depth
    /// of 16 frames; `Profiler::builder` chooses another.
    pub fn start() -> Profiler {
        Profiler::open(
            #[cfg(feature = "backtraces")]
            crate::walk::DEFAULT_FRAMES,
        )
    }

    /// Settings for a window, for what [`Profiler::start`] leaves at its default.
    ///
    /// ```
    /// let p = mod_alloc::Profiler::builder().frames(32).start();
    /// # drop(p);
    /// ```
    #[cfg(feature = "backtraces")]
    #[cfg_attr(docsrs, doc(cfg(feature = "backtraces")))]
    pub fn builder() -> ProfilerBuilder {
        ProfilerBuilder {
            frames: crate::walk::DEFAULT_FRAMES,
        }
    }

    fn open(#[cfg(feature = "backtraces")] frames: usize) -> Profiler {
        // First, so that its own work (reading `MOD_ALLOC_BUCKETS`, and calibrating the walk
        // once per process, both with this thread's recording suspended) happens before the
        // window's baseline.
        #[cfg(feature = "backtraces")]
        let call_sites = crate::sites::Session::start(frames);
        #[cfg(feature = "backtraces")]
        crate::walk::calibrate_from_user_code();
        thread_state::publish_pending();
        let (register, start_level) = match Register::claim() {
            Some((register, start_level)) => (Some(register), start_level),
            None => (None, peak::level()),
        };
        Profiler {
            start: slots::sum(),
            start_level,
            register,
            #[cfg(feature = "backtraces")]
            call_sites,
        }
    }

    /// The figures so far, without closing the window.
    pub fn stats(&self) -> AllocStats {
        thread_state::publish_pending();
        let counts = slots::sum().wrapping_sub(self.start);
        let peak = self
            .register
            .as_ref()
            .map_or_else(peak::lifetime_peak, Register::peak);
        AllocStats::from_counts(counts, peak - self.start_level)
    }

    /// Closes the window and returns its figures.
    pub fn stop(self) -> AllocStats {
        self.stats()
    }

    /// The call sites that allocated so far, without closing the window.
    ///
    /// Works without the `symbolicate` feature: each site is a list of raw return addresses.
    /// See [`CallSiteReport`](crate::CallSiteReport).
    ///
    /// Profilers that overlap share one call-site table, which starts when the oldest of them
    /// starts and lasts while any of them runs. So a profiler started while another runs also
    /// reports the events since the older one started, even once that one has stopped, unlike
    /// its [`stats`](Profiler::stats), which cover its own window alone. A profiler that
    /// starts with none running gets a fresh table.
    ///
    /// Reading the call-site table is not counted. The report is ordinary memory that the
    /// caller owns, so it is counted like any other allocation, both when it is made and when
    /// it is freed: one block for the list of sites (none when there are no sites) and one
    /// for each site's frames. Its allocations are also events in later reports, like any
    /// other. A window that makes and frees a report therefore still ends with a net change of
    /// zero. To leave the report out of a window's figures entirely, read them with
    /// [`stats`](Profiler::stats) first:
    ///
    /// ```
    /// use mod_alloc::{ModAlloc, Profiler};
    ///
    /// #[global_allocator]
    /// static GLOBAL: ModAlloc = ModAlloc::new();
    ///
    /// fn main() {
    ///     let p = Profiler::start();
    ///     let v = vec![0u8; 100];
    ///     let before = p.stats();
    ///     drop(p.call_sites());
    ///     let after = p.stats();
    ///     assert_eq!(before.alloc_count, 1);
    ///     // The report came and went: more blocks allocated and freed, no change in the heap.
    ///     assert_eq!(after.alloc_count - before.alloc_count, after.dealloc_count);
    ///     assert_eq!((after.net_blocks, after.net_bytes), (1, 100));
    ///     drop(v);
    /// }
    /// ```
    #[cfg(feature = "backtraces")]
    #[cfg_attr(docsrs, doc(cfg(feature = "backtraces")))]
    pub fn call_sites(&self) -> crate::CallSiteReport {
        let _ = &self.call_sites;
        crate::sites::report()
    }
}

/// Settings for a [`Profiler`]: `Profiler::builder()`, then a setting, then
/// [`start`](ProfilerBuilder::start).
#[cfg(feature = "backtraces")]
#[cfg_attr(docsrs, doc(cfg(feature = "backtraces")))]
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct ProfilerBuilder {
    frames: usize,
}

#[cfg(feature = "backtraces")]
impl ProfilerBuilder {
    /// How many return addresses each call stack keeps, innermost first, after the
    /// allocator's own frames: 16 by default (dhat's default of 10 frames after trimming
    /// needs about that many), at least 1 and at most 64. A value outside that range is
    /// moved to the nearest bound.
    ///
    /// The depth is process-wide, like the call-site table: while profilers that asked for
    /// different depths overlap, every walk keeps as many frames as the deepest of them
    /// asked for, and once it stops the next deepest applies. Deeper stacks tell more
    /// callers apart; each frame costs an allocation about 0.54–1.28 ns up to 16 frames and
    /// about 2–3 ns beyond (measured in the crate's `BENCHMARKS.md`).
    pub fn frames(mut self, frames: usize) -> ProfilerBuilder {
        // Clamped where sessions start, with every other request.
        self.frames = frames;
        self
    }

    /// Opens the window now.
    pub fn start(self) -> Profiler {
        Profiler::open(self.frames)
    }
}

/// A window over the calling thread's own allocator calls only.
///
/// Other threads cannot disturb it, so an exact assertion holds while `cargo test` runs other
/// tests in parallel. Scopes nest, and may even be closed out of order; each one's peak stays
/// exact up to 32 open at once on a thread.
///
/// It counts the calls this thread makes, including frees of blocks other threads allocated.
/// It is not `Send`: it belongs to the thread that opened it.
///
/// ```
/// use mod_alloc::ThreadProfiler;
///
/// let scope = ThreadProfiler::start();
/// let v = vec![0u8; 4096];
/// drop(v);
/// let stats = scope.stop();
/// assert_eq!(stats.net_bytes, 0);
/// ```
#[must_use = "a window measures nothing unless it is stopped or read"]
pub struct ThreadProfiler {
    start: Counts,
    start_net: i64,
    scope: ScopeId,
    _not_send: PhantomData<*const ()>,
}

impl core::fmt::Debug for ThreadProfiler {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ThreadProfiler")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl ThreadProfiler {
    /// Opens a window on the calling thread.
    pub fn start() -> ThreadProfiler {
        let scope = thread_state::open_scope();
        let (start, start_net) = thread_state::own_snapshot();
        ThreadProfiler {
            start,
            start_net,
            scope,
            _not_send: PhantomData,
        }
    }

    /// The figures so far, without closing the window.
    pub fn stats(&self) -> AllocStats {
        let (now, _) = thread_state::own_snapshot();
        let peak = thread_state::scope_peak(self.scope) - self.start_net;
        AllocStats::from_counts(now.wrapping_sub(self.start), peak)
    }

    /// Closes the window and returns its figures.
    pub fn stop(self) -> AllocStats {
        self.stats()
    }
}

impl Drop for ThreadProfiler {
    fn drop(&mut self) {
        thread_state::close_scope(self.scope);
    }
}

/// Runs `f` and returns its result with the calling thread's figures for the call.
///
/// ```
/// let (len, stats) = mod_alloc::measure_thread(|| vec![1u32; 10].len());
/// assert_eq!(len, 10);
/// # let _ = stats;
/// ```
pub fn measure_thread<R>(f: impl FnOnce() -> R) -> (R, AllocStats) {
    let scope = ThreadProfiler::start();
    let result = f();
    (result, scope.stop())
}
