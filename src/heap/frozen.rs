//! A session's figures copied out under the session lock, to become a [`Profile`] after the
//! lock is released.
//!
//! A `Profile` is the caller's memory: its `Vec`s come from the global allocator, and
//! converting clock ticks to microseconds may spin for up to 2 ms (see [`TickRate`]). Neither
//! may happen under the session lock. Suppose a global allocator wraps this one behind a lock
//! of its own. One thread could hold the session lock and wait for the wrapper's lock to
//! allocate, while another holds the wrapper's lock and waits, inside this allocator, for the
//! session lock. So under the lock everything is copied into memory from [`System`](std::alloc::System)
//! ([`SysVec`]), which never reaches the global allocator, and the rest happens after.

use super::clock::{Origin, TickRate};
use super::sysvec::SysVec;
use super::{AdHocTotals, HeapTotals, Mode, Profile, ProgramPoint, Session};

/// Where a frame list sits in [`Frozen::frames`]: `(start, len)`.
type Span = (usize, usize);

/// One program point's figures, as [`ProgramPoint`] holds them but with the lifetimes still in
/// clock ticks and the frames in [`Frozen::frames`].
#[derive(Clone, Copy)]
struct FrozenPoint {
    frames: Span,
    total_bytes: u64,
    total_blocks: u64,
    lifetime_ticks: u128,
    max_bytes: usize,
    max_blocks: usize,
    at_gmax_bytes: usize,
    at_gmax_blocks: usize,
    at_end_bytes: usize,
    at_end_blocks: usize,
}

/// A copy of everything [`Profile`] is made from, in memory from `System`.
pub(super) struct Frozen {
    mode: Mode,
    heap: HeapTotals,
    ad_hoc: AdHocTotals,
    origin: Origin,
    end: Origin,
    /// Clock ticks from the start to the global peak, if there was one.
    t_gmax: Option<u64>,
    max_frames: Option<usize>,
    allocator_frames: Option<super::AllocatorFrames>,
    points: SysVec<FrozenPoint>,
    /// Every frame list below, back to back.
    frames: SysVec<usize>,
    start_frames: Span,
    first_event_frames: Span,
    start_tail: Span,
    first_event_tail: Span,
}

impl Frozen {
    /// Copies `session` as of `end`, with each point's lifetime ticks from `lifetimes` (see
    /// `Shared::lifetimes`). `None` if memory from `System` ran out.
    pub(super) fn copy(session: &Session, end: Origin, lifetimes: &[u128]) -> Option<Frozen> {
        let accounting = &session.accounting;
        let count = accounting.point_count();
        let mut frames = SysVec::new();
        let mut keep = |list: &[usize]| -> Option<Span> {
            let start = frames.len();
            frames
                .extend_from_slice(list)
                .then_some((start, list.len()))
        };
        let mut points = SysVec::new();
        for point in 0..count as u32 {
            let state = accounting.point(point);
            let (at_gmax_bytes, at_gmax_blocks) = accounting.at_gmax(point);
            let frozen = FrozenPoint {
                frames: keep(accounting.frames_of(point))?,
                total_bytes: state.total_bytes,
                total_blocks: state.total_blocks,
                lifetime_ticks: lifetimes.get(point as usize).copied().unwrap_or(0),
                max_bytes: state.max_bytes,
                max_blocks: state.max_blocks,
                at_gmax_bytes,
                at_gmax_blocks,
                at_end_bytes: state.curr_bytes,
                at_end_blocks: state.curr_blocks,
            };
            if !points.push(frozen) {
                return None;
            }
        }
        let first_event = session
            .first_event_frames
            .as_ref()
            .map_or(&[][..], SysVec::as_slice);
        Some(Frozen {
            mode: session.mode,
            heap: accounting.heap,
            ad_hoc: accounting.ad_hoc,
            origin: session.origin,
            end,
            t_gmax: accounting.t_gmax,
            max_frames: session.max_frames,
            allocator_frames: session.allocator_frames,
            start_frames: keep(session.start_frames.as_slice())?,
            first_event_frames: keep(first_event)?,
            start_tail: keep(session.start_tail.as_slice())?,
            first_event_tail: keep(session.first_event_tail.as_slice())?,
            points,
            frames,
        })
    }

    /// The profile, in the caller's memory. Call it with the session lock released.
    pub(super) fn into_profile(self) -> Profile {
        let rate = TickRate::since(self.origin);
        let frames = |(start, len): Span| self.frames.as_slice()[start..start + len].to_vec();
        let program_points = self
            .points
            .as_slice()
            .iter()
            .map(|point| ProgramPoint {
                frames: frames(point.frames),
                total_bytes: point.total_bytes,
                total_blocks: point.total_blocks,
                lifetimes_us: rate.micros(point.lifetime_ticks),
                max_bytes: point.max_bytes,
                max_blocks: point.max_blocks,
                at_gmax_bytes: point.at_gmax_bytes,
                at_gmax_blocks: point.at_gmax_blocks,
                at_end_bytes: point.at_end_bytes,
                at_end_blocks: point.at_end_blocks,
            })
            .collect();
        let t_gmax_us = match self.mode {
            Mode::Heap => Some(self.t_gmax.map_or(0, |t| rate.micros(u128::from(t)))),
            Mode::AdHoc => None,
        };
        Profile {
            mode: self.mode,
            heap: self.heap,
            ad_hoc: self.ad_hoc,
            program_points,
            t_gmax_us,
            // Both times in the same clock, so `tg <= te` always holds.
            t_end_us: rate.micros(u128::from(self.end.ticks.saturating_sub(self.origin.ticks))),
            start_frames: frames(self.start_frames),
            first_event_frames: frames(self.first_event_frames),
            start_tail: frames(self.start_tail),
            first_event_tail: frames(self.first_event_tail),
            max_frames: self.max_frames,
            allocator_path: crate::walk::allocator_path(),
            zeroed_path: crate::walk::zeroed_allocator_path(),
            allocator_frames: self.allocator_frames,
        }
    }
}
