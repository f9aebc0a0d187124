//! The clock that stamps block births and deaths: the one architecture dispatch point for it.
//!
//! dhat reads `Instant::now()` (about 29 ns here) twice per block. A raw cycle counter costs
//! a fraction of that: `rdtsc` on x86_64 and `cntvct_el0` on aarch64, both constant-rate
//! on the machines this targets. Ticks are converted to microseconds once, at report time,
//! by timing the session against `Instant` (see [`TickRate`]). Other targets use `Instant`
//! itself, counted in nanoseconds from a process-wide origin.

use std::time::Instant;

/// log2 of the ticks per unit in which the live-block table stores birth times (see
/// `live.rs`): 64 ticks is about 21 ns of a 3 GHz TSC, or 64 ns of the nanosecond fallback;
/// the aarch64 generic timer runs at 24 MHz to 1 GHz, so it keeps every tick.
#[cfg(all(target_arch = "aarch64", not(miri)))]
pub(crate) const BIRTH_SHIFT: u32 = 0;
#[cfg(not(all(target_arch = "aarch64", not(miri))))]
pub(crate) const BIRTH_SHIFT: u32 = 6;

/// Reads the tick counter.
#[inline(always)]
pub(crate) fn now() -> u64 {
    imp::now()
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
mod imp {
    #[inline(always)]
    pub(super) fn now() -> u64 {
        // SAFETY: `rdtsc` is part of the x86_64 baseline and has no preconditions.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
}

#[cfg(all(target_arch = "aarch64", not(miri)))]
mod imp {
    #[inline(always)]
    pub(super) fn now() -> u64 {
        let ticks: u64;
        // SAFETY: reading the virtual counter is permitted at EL0 on Linux, macOS and Windows.
        unsafe { core::arch::asm!("mrs {}, cntvct_el0", out(reg) ticks, options(nomem, nostack)) };
        ticks
    }
}

#[cfg(any(not(any(target_arch = "x86_64", target_arch = "aarch64")), miri))]
mod imp {
    use std::sync::OnceLock;
    use std::time::Instant;

    static ORIGIN: OnceLock<Instant> = OnceLock::new();

    pub(super) fn now() -> u64 {
        ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// A tick reading paired with the wall clock, taken at session start.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin {
    pub(crate) ticks: u64,
    pub(crate) instant: Instant,
}

impl Origin {
    pub(crate) fn now() -> Origin {
        Origin {
            ticks: now(),
            instant: Instant::now(),
        }
    }
}

/// Ticks per microsecond, measured over a session.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TickRate {
    ticks_per_us: f64,
}

impl TickRate {
    /// Measures the rate between `origin` and now. Very short sessions are extended by a
    /// brief spin so the ratio is meaningful (this happens at report time only).
    pub(crate) fn since(origin: Origin) -> TickRate {
        let mut end = Origin::now();
        while end.instant.duration_since(origin.instant).as_micros() < 2_000 {
            std::hint::spin_loop();
            end = Origin::now();
        }
        let micros = end.instant.duration_since(origin.instant).as_nanos() as f64 / 1_000.0;
        let ticks = end.ticks.saturating_sub(origin.ticks) as f64;
        let ticks_per_us = if ticks > 0.0 { ticks / micros } else { 1_000.0 };
        TickRate { ticks_per_us }
    }

    /// Whole microseconds in `ticks`, truncated as dhat truncates.
    pub(crate) fn micros(self, ticks: u128) -> u128 {
        (ticks as f64 / self.ticks_per_us) as u128
    }
}
