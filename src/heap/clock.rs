//! The clock that stamps block births and deaths: the one architecture dispatch point for it.
//!
//! dhat reads `Instant::now()` (about 29 ns here) twice per block. A raw cycle counter costs
//! a fraction of that: `rdtsc` on x86_64 and `cntvct_el0` on aarch64, both constant-rate
//! on the machines this targets. Ticks are converted to microseconds once, at report time,
//! by timing the session against `Instant` (see [`TickRate`]). Other targets use `Instant`
//! itself, counted in nanoseconds from a process-wide origin.

use std::time::Instant;

/// log2 of the ticks per unit in which the live-block table stores birth times (see
/// `live.rs`), whose 40 bits then cover hours. 64 ticks is about 21 ns of a 3 GHz TSC, or
/// 64 ns of the nanosecond fallback. The aarch64 generic timer runs at anything from 24 MHz
/// to 1 GHz (the rate ARMv8.6 fixes), so there the shift is read off its frequency when a
/// session starts ([`set_up_birth_units`]).
#[inline(always)]
pub(crate) fn birth_shift() -> u32 {
    imp::birth_shift()
}

/// Reads what [`birth_shift`] needs; call it before a session's first event.
pub(crate) fn set_up_birth_units() {
    imp::set_up_birth_units();
}

/// The shift that makes a birth unit of a `hz` counter last at least 16 ns: 0 for the common
/// 24 MHz timers, 4 for a 1 GHz one, so 2^40 units last 4.9 hours or more.
#[cfg_attr(not(all(target_arch = "aarch64", not(miri))), allow(dead_code))]
pub(crate) fn shift_for_frequency(hz: u64) -> u32 {
    const MOST_UNITS_PER_SECOND: u64 = 62_500_000;
    let mut shift = 0;
    while (hz >> shift) > MOST_UNITS_PER_SECOND {
        shift += 1;
    }
    shift
}

/// Reads the tick counter.
#[inline(always)]
pub(crate) fn now() -> u64 {
    imp::now()
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
mod imp {
    #[inline(always)]
    pub(super) fn birth_shift() -> u32 {
        6
    }

    pub(super) fn set_up_birth_units() {}

    #[inline(always)]
    pub(super) fn now() -> u64 {
        // SAFETY: `rdtsc` is part of the x86_64 baseline and has no preconditions.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
}

#[cfg(all(target_arch = "aarch64", not(miri)))]
mod imp {
    use core::sync::atomic::{AtomicU32, Ordering};

    /// Set before any session's first event, and the same every time (the counter's rate
    /// is fixed), so every entry of a session is stored and read with one shift.
    static BIRTH_SHIFT: AtomicU32 = AtomicU32::new(0);

    #[inline(always)]
    pub(super) fn birth_shift() -> u32 {
        BIRTH_SHIFT.load(Ordering::Relaxed)
    }

    pub(super) fn set_up_birth_units() {
        let hz: u64;
        // SAFETY: the counter's frequency register is readable at EL0 wherever the counter
        // itself is (Linux, macOS, Windows).
        unsafe { core::arch::asm!("mrs {}, cntfrq_el0", out(reg) hz, options(nomem, nostack)) };
        BIRTH_SHIFT.store(super::shift_for_frequency(hz), Ordering::Relaxed);
    }

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

    /// 64 ns units.
    #[inline(always)]
    pub(super) fn birth_shift() -> u32 {
        6
    }

    pub(super) fn set_up_birth_units() {}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_units_last_at_least_16_ns_and_no_coarser_than_needed() {
        for (hz, shift) in [
            (19_200_000, 0),
            (24_000_000, 0),
            (62_500_000, 0),
            (100_000_000, 1),
            (250_000_000, 2),
            (1_000_000_000, 4),
            (1_050_000_000, 5),
        ] {
            assert_eq!(shift_for_frequency(hz), shift, "{hz} Hz");
            let units_per_second = hz >> shift;
            assert!(units_per_second <= 62_500_000, "{hz} Hz");
            assert!(shift == 0 || hz >> (shift - 1) > 62_500_000, "{hz} Hz");
            // 2^40 units last more than 4.8 hours.
            let seconds = (1u64 << 40) / units_per_second;
            assert!(seconds > 4 * 3600 + 48 * 60, "{hz} Hz: {seconds} s");
        }
    }

    #[test]
    fn the_shift_in_use_is_the_same_after_setting_up() {
        let before_any_session = birth_shift();
        set_up_birth_units();
        let shift = birth_shift();
        set_up_birth_units();
        assert_eq!(birth_shift(), shift);
        if cfg!(not(all(target_arch = "aarch64", not(miri)))) {
            assert_eq!((before_any_session, shift), (6, 6));
        }
    }
}
