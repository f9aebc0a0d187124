//! The call-site report (feature `backtraces`): raw return addresses, counts and bytes.
//!
//! A [`CallSiteReport`] comes from [`Profiler::call_sites`](crate::Profiler::call_sites). It
//! needs no symbols: each site is the list of return addresses the stack walk found,
//! innermost first, with the allocator's own frames left out. The `symbolicate` feature turns
//! the addresses into names.
//!
//! Every allocation event (`alloc`, `alloc_zeroed` and `realloc`, the last at its new size)
//! made while the profiler runs is either counted at one site or counted as unattributed,
//! with the reason. Nothing is dropped silently.
//!
//! ```
//! use mod_alloc::{ModAlloc, Profiler};
//!
//! #[global_allocator]
//! static GLOBAL: ModAlloc = ModAlloc::new();
//!
//! fn main() {
//!     let profiler = Profiler::start();
//!     let v = vec![0u8; 4096];
//!     drop(v);
//!     let report = profiler.call_sites().sorted_by_bytes();
//!     assert_eq!(report.events, report.attributed_events() + report.unattributed_events);
//!     for site in report.sites.iter().take(5) {
//!         println!("{} bytes in {} blocks at {:x?}", site.bytes, site.count, site.frames);
//!     }
//!     println!("{report}");
//! }
//! ```

use core::fmt;

/// One call site: a distinct stack of return addresses and what it allocated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CallSite {
    /// Return addresses, innermost (the code that asked for memory) first: at most 16 unless
    /// a profiler asked for another depth with
    /// [`ProfilerBuilder::frames`](crate::ProfilerBuilder::frames).
    pub frames: Vec<usize>,
    /// Allocation events: successful `alloc`, `alloc_zeroed` and `realloc` calls (blocks).
    pub count: u64,
    /// Bytes those events asked for; a `realloc` counts its full new size.
    pub bytes: u64,
}

/// The call sites of a profiling window.
///
/// Counts are kept per thread and summed here, so they are exact once the allocating threads
/// are quiet. Overlapping [`Profiler`](crate::Profiler)s share one table, which starts empty
/// when a profiler starts while none runs: a report covers every event since then, including
/// events from before the reporting profiler started, made under one that has stopped since.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallSiteReport {
    /// The sites, in table order until sorted.
    pub sites: Vec<CallSite>,
    /// Every allocation event while capture was on: attributed plus unattributed.
    pub events: u64,
    /// Events counted at no site: the sum of the three reasons below.
    pub unattributed_events: u64,
    /// Events whose stack walk captured no frame (see [`CallSiteReport::notice`]).
    pub zero_frame_events: u64,
    /// Events whose frame list found no room in the table: it had grown to its limit, or
    /// the memory to grow it or to hold the frame list could not be allocated.
    pub table_full_events: u64,
    /// Events that gave up waiting for another thread to finish inserting their slot.
    pub contended_events: u64,
    /// Frames captured, summed over all events.
    pub frames_captured: u64,
    /// Slots in the table, over all its segments.
    pub table_slots: u64,
    /// Segments in the table: 1 until it has had to grow.
    pub table_segments: u32,
    /// Whether the walker's self-test found frame pointers missing from this build, in which
    /// case call sites are short or empty.
    pub frame_pointers_missing: bool,
    /// Whether some walk ran on a stack the walker cannot bound (a signal handler's
    /// alternate stack, a coroutine's stack); such walks capture no frame.
    pub foreign_stack_seen: bool,
    /// Whether the system could not say where some thread's stack is (the BSDs; glibc's main
    /// thread without `/proc`), so walks on that thread captured nothing, whatever the build.
    pub stack_bounds_unavailable: bool,
}

impl CallSiteReport {
    /// Events counted at some site.
    pub fn attributed_events(&self) -> u64 {
        self.sites.iter().map(|site| site.count).sum()
    }

    /// Mean frames captured per event; 0 when there were no events.
    pub fn frames_per_event(&self) -> f64 {
        if self.events == 0 {
            0.0
        } else {
            self.frames_captured as f64 / self.events as f64
        }
    }

    /// Sorts the sites by bytes, largest first (ties: more blocks first, then by frames).
    #[must_use]
    pub fn sorted_by_bytes(mut self) -> Self {
        self.sites.sort_by(|a, b| {
            b.bytes
                .cmp(&a.bytes)
                .then(b.count.cmp(&a.count))
                .then(a.frames.cmp(&b.frames))
        });
        self
    }

    /// Sorts the sites by blocks (events), most first (ties: more bytes first, then by
    /// frames).
    #[must_use]
    pub fn sorted_by_blocks(mut self) -> Self {
        self.sites.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(b.bytes.cmp(&a.bytes))
                .then(a.frames.cmp(&b.frames))
        });
        self
    }

    /// A warning, once per report, when call sites are missing or cut short: frame pointers
    /// look missing from the build, or some walks captured no frame at all.
    ///
    /// The walk starts inside the allocator, so a walk from an ordinary nested call that
    /// captures nothing almost always means the program was built without frame pointers
    /// (or the target has no walker: only x86_64 and aarch64 have one). Walks on a signal
    /// handler's alternate stack or a coroutine's stack also capture nothing. On Windows the
    /// system unwinder walks, so no build flag is suggested there.
    pub fn notice(&self) -> Option<String> {
        const FIX: &str =
            "build with RUSTFLAGS=\"-C force-frame-pointers=yes\" (x86_64 and aarch64 only)";
        // Windows walks with the system unwinder, which no build flag changes.
        let advice = if cfg!(windows) {
            " (the system unwinder found none for them)".to_owned()
        } else {
            format!("; to see their call sites, {FIX}")
        };
        if self.frame_pointers_missing {
            return Some(format!(
                "mod-alloc: frame pointers look missing from this build, so call sites are short or empty \
                 ({} of {} events captured no frame); {FIX}",
                self.zero_frame_events, self.events
            ));
        }
        if self.zero_frame_events == 0 {
            return None;
        }
        if self.stack_bounds_unavailable && !self.foreign_stack_seen {
            return Some(format!(
                "mod-alloc: {} of {} allocation events captured no stack frames: this system could \
                 not give the thread's stack bounds, so the walker captured nothing; frame \
                 pointers are not the cause",
                self.zero_frame_events, self.events
            ));
        }
        let foreign = if self.foreign_stack_seen {
            " (some walks ran on a signal handler's or coroutine's stack, which the walker cannot bound)"
        } else {
            ""
        };
        Some(format!(
            "mod-alloc: {} of {} allocation events captured no stack frames{foreign}{advice}",
            self.zero_frame_events, self.events
        ))
    }
}

/// A text table: the summary, the notice if any, then one row per site with its raw
/// addresses, innermost first. Use `{:.N}` to show only the first `N` sites.
impl fmt::Display for CallSiteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let segments = if self.table_segments == 1 {
            "segment"
        } else {
            "segments"
        };
        writeln!(
            f,
            "call sites: {} sites, {} events ({} attributed, {} unattributed: {} with no frames, \
             {} with the table full, {} contended), {:.1} frames per event, table of {} slots in {} {}",
            self.sites.len(),
            self.events,
            self.attributed_events(),
            self.unattributed_events,
            self.zero_frame_events,
            self.table_full_events,
            self.contended_events,
            self.frames_per_event(),
            self.table_slots,
            self.table_segments,
            segments,
        )?;
        if let Some(notice) = self.notice() {
            writeln!(f, "{notice}")?;
        }
        writeln!(
            f,
            "{:>14} {:>10}  frames (innermost first)",
            "bytes", "blocks"
        )?;
        let shown = f.precision().unwrap_or(usize::MAX);
        for site in self.sites.iter().take(shown) {
            write!(f, "{:>14} {:>10} ", site.bytes, site.count)?;
            for frame in &site.frames {
                write!(f, " {frame:#x}")?;
            }
            writeln!(f)?;
        }
        if self.sites.len() > shown {
            writeln!(f, "... {} more sites", self.sites.len() - shown)?;
        }
        Ok(())
    }
}

/// Attributes every allocator event of the calling thread to `frames` while `f` runs,
/// instead of the walked stack. A test hook for the call-site table; not a stable API.
#[doc(hidden)]
pub fn __with_synthetic_frames<R>(frames: &[usize], f: impl FnOnce() -> R) -> R {
    crate::sites::with_synthetic_frames(frames, f)
}

#[cfg(test)]
mod tests {
    use super::CallSiteReport;

    fn report_with_empty_walks() -> CallSiteReport {
        CallSiteReport {
            events: 10,
            unattributed_events: 4,
            zero_frame_events: 4,
            ..CallSiteReport::default()
        }
    }

    #[test]
    fn the_notice_names_the_cause_of_empty_walks() {
        assert_eq!(CallSiteReport::default().notice(), None);

        let plain = report_with_empty_walks().notice().unwrap();
        assert!(plain.contains("4 of 10"), "{plain}");
        // Windows walks with the system unwinder, which no build flag changes.
        if cfg!(windows) {
            assert!(plain.contains("system unwinder"), "{plain}");
            assert!(!plain.contains("force-frame-pointers"), "{plain}");
        } else {
            assert!(plain.contains("force-frame-pointers"), "{plain}");
        }

        let missing = CallSiteReport {
            frame_pointers_missing: true,
            ..report_with_empty_walks()
        };
        assert!(missing
            .notice()
            .unwrap()
            .contains("frame pointers look missing"));

        let unbounded = CallSiteReport {
            stack_bounds_unavailable: true,
            ..report_with_empty_walks()
        }
        .notice()
        .unwrap();
        assert!(unbounded.contains("could not give the thread's stack bounds"));
        assert!(unbounded.contains("frame pointers are not the cause"));
        assert!(
            !unbounded.contains("force-frame-pointers=yes"),
            "{unbounded}"
        );
    }
}
