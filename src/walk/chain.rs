//! The pure part of the walker: following a chain of frame records through memory that is
//! reached only through [`StackMemory`], with every address checked before it is read.
//!
//! Nothing here knows about registers, threads or the operating system, so the same code runs
//! on the live stack (through [`LiveStack`]) and on synthetic stacks in unit tests (through a
//! slice), where Miri can check it.

use core::mem::MaybeUninit;

/// Bytes in one frame record: the caller's frame pointer, then the return address.
pub(crate) const RECORD_BYTES: usize = 2 * WORD_BYTES;

/// Bytes in one stack word.
pub(crate) const WORD_BYTES: usize = core::mem::size_of::<usize>();

/// Alignment every frame record has on the supported targets: the SysV x86_64 and AAPCS64
/// ABIs both keep the stack 16-byte aligned at calls, and the record sits at the frame base.
pub(crate) const RECORD_ALIGN: usize = 16;

/// Memory the walker may read: one machine word at an address the walker has already checked
/// to lie in the range it was given.
pub(crate) trait StackMemory {
    /// The word at `addr`. Only called with word-aligned addresses inside the range given to
    /// [`walk_chain`], with the whole record containing `addr` inside it too.
    fn read_word(&self, addr: usize) -> usize;
}

/// The part of the stack a walk may read: `[low, high)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StackRange {
    /// Lowest readable address: the stack pointer at the start of the walk.
    pub(crate) low: usize,
    /// One past the highest readable address: the top of the thread's stack.
    pub(crate) high: usize,
}

/// Views an initialised buffer of frames as slots a walk may fill.
///
/// # Safety
///
/// Only initialised values may be written through the result, so that `frames` stays
/// initialised. The walks here write nothing but return addresses.
pub(crate) unsafe fn slots_of(frames: &mut [usize]) -> &mut [MaybeUninit<usize>] {
    // SAFETY: `MaybeUninit<usize>` has the layout of `usize`, and the caller writes only
    // initialised values through the result.
    unsafe { &mut *(frames as *mut [usize] as *mut [MaybeUninit<usize>]) }
}

/// The first `written` of `slots`, as a walk returned them.
///
/// # Safety
///
/// A walk over `slots` reported `written` frames, so those slots are initialised.
pub(crate) unsafe fn filled(slots: &[MaybeUninit<usize>], written: usize) -> &[usize] {
    debug_assert!(written <= slots.len());
    // SAFETY: the caller guarantees the first `written` slots are initialised, and
    // `MaybeUninit<usize>` has the layout of `usize`.
    unsafe { core::slice::from_raw_parts(slots.as_ptr().cast::<usize>(), written) }
}

/// What the walk does with each return address it finds, so that architecture rules (pointer
/// authentication on aarch64) stay outside this pure code.
pub(crate) type CleanAddress = fn(usize) -> usize;

/// Follows the frame-record chain that starts at `first_fp`, writing return addresses into
/// `frames` (innermost first). Leading return addresses for which `skip_leading` says `true`
/// are dropped; once one is kept, every later one is kept too. Returns how many were written.
///
/// The walk stops, without reading anything further, at the first record that:
/// - is not 16-byte aligned, or does not lie wholly inside `range`;
/// - holds a zero return address;
/// - links to a zero frame pointer, or to one that is not strictly above it (so a corrupt
///   or cyclic chain always ends: each step moves up by at least one record).
///
/// It also stops when `frames` is full.
///
/// The walk runs in two phases. The first checks the starting record against the whole
/// range and calls `skip_leading` on each return address until one is kept. The second, the
/// loop every captured frame goes through, no longer calls `skip_leading` and checks each
/// next record with one comparison (see [`records_below`]): a record strictly above the
/// current one is above `range.low` too, because the current one is.
#[inline(always)]
pub(crate) fn walk_chain<M: StackMemory>(
    memory: &M,
    range: StackRange,
    first_fp: usize,
    mut skip_leading: impl FnMut(usize) -> bool,
    clean: CleanAddress,
    frames: &mut [MaybeUninit<usize>],
) -> usize {
    // The highest aligned address a whole record can start at. Comparing against it, rather
    // than computing `fp + RECORD_BYTES`, cannot overflow; a range too small for one record
    // has none.
    let Some(last_record) = range.high.checked_sub(RECORD_BYTES) else {
        return 0;
    };
    let last_record = last_record & !(RECORD_ALIGN - 1);
    if frames.is_empty()
        || first_fp < range.low
        || first_fp > last_record
        || first_fp % RECORD_ALIGN != 0
    {
        return 0;
    }
    // Phase 1: leading frames to drop; they do not use up `frames`. Invariant: `fp` is an
    // aligned record inside the range, `below` its `records_below`.
    let mut fp = first_fp;
    let mut below = records_below(last_record, fp);
    let caller_fp = loop {
        let caller_fp = memory.read_word(fp);
        let return_address = clean(memory.read_word(fp + WORD_BYTES));
        if return_address == 0 {
            return 0;
        }
        if !skip_leading(return_address) {
            frames[0].write(return_address);
            break caller_fp;
        }
        let caller_below = records_below(last_record, caller_fp);
        if caller_below >= below {
            return 0;
        }
        (fp, below) = (caller_fp, caller_below);
    };
    // Phase 2: everything after the first kept frame.
    let step = Step {
        last_record,
        clean,
        fp_below: below,
        caller_fp,
    };
    1 + follow(memory, step, &mut frames[1..])
}

/// Where phase 2 of [`walk_chain`] starts: the first kept record's `records_below` and its
/// saved frame pointer, not yet checked.
#[derive(Clone, Copy)]
struct Step {
    last_record: usize,
    clean: CleanAddress,
    fp_below: usize,
    caller_fp: usize,
}

/// Phase 2 of [`walk_chain`]: writes the return addresses of the records above the first
/// kept one into `frames`, checking each saved frame pointer with one comparison. Returns how
/// many were written.
#[inline(always)]
fn follow<M: StackMemory>(memory: &M, step: Step, frames: &mut [MaybeUninit<usize>]) -> usize {
    let Step {
        last_record,
        clean,
        mut fp_below,
        mut caller_fp,
    } = step;
    for (written, slot) in frames.iter_mut().enumerate() {
        let caller_below = records_below(last_record, caller_fp);
        if caller_below >= fp_below {
            return written;
        }
        let fp = caller_fp;
        fp_below = caller_below;
        caller_fp = memory.read_word(fp);
        let return_address = clean(memory.read_word(fp + WORD_BYTES));
        if return_address == 0 {
            return written;
        }
        slot.write(return_address);
    }
    frames.len()
}

/// How many whole records `fp` lies below `last_record` (which is 16-byte aligned), when
/// `fp` is aligned and at most `last_record`; otherwise a number of at least 2^60, above
/// that of any such `fp`.
///
/// This turns the checks of one step into one comparison: a saved frame pointer `next` may
/// be followed from an aligned record `fp` inside the range exactly when
/// `records_below(next) < records_below(fp)`. For an aligned `next` up to `last_record` the
/// count is `(last_record - next) / 16`, smaller exactly when `next` is strictly above `fp`
/// (so zero and cycles fail). An unaligned `next` leaves a nonzero low nibble in the
/// distance, which the rotation moves to the top bits. A `next` that is `16 * k` above
/// `last_record` wraps the distance to `2^64 - 16 * k`, a count of `2^60 - k`, which for any
/// address that fits in the address space is more than `last_record / 16`.
#[inline(always)]
fn records_below(last_record: usize, fp: usize) -> usize {
    const ALIGN_BITS: u32 = RECORD_ALIGN.trailing_zeros();
    last_record.wrapping_sub(fp).rotate_right(ALIGN_BITS)
}

/// The live stack of the calling thread, read with volatile loads.
pub(crate) struct LiveStack;

impl StackMemory for LiveStack {
    #[inline(always)]
    fn read_word(&self, addr: usize) -> usize {
        // SAFETY: `walk_chain` only reads inside the range it is given, and the live walk gives
        // it `[stack pointer, top of this thread's stack)`: memory that is mapped, readable and
        // owned by this thread for as long as the walk runs (it is the walk's own stack and the
        // frames of its callers, which cannot return while it runs). Addresses are 16-byte
        // aligned, so the load is aligned. The load is volatile because, to the compiler, these
        // words belong to other functions' frames: a volatile read is emitted exactly as
        // written, never assumed from earlier writes, merged or moved, which is what reading a
        // frame record needs. No other thread writes these words.
        unsafe { core::ptr::read_volatile(addr as *const usize) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic stack: `words` pretend to live at `base`, `base + 8`, ...
    struct FakeStack {
        base: usize,
        words: Vec<usize>,
        /// The range the current walk was given: reads outside it fail the test.
        allowed: core::cell::Cell<Option<StackRange>>,
    }

    impl FakeStack {
        fn new(base: usize, len: usize) -> FakeStack {
            FakeStack {
                base,
                words: vec![0; len],
                allowed: core::cell::Cell::new(None),
            }
        }
        fn addr(&self, index: usize) -> usize {
            self.base + index * WORD_BYTES
        }
        /// Writes the record `[caller_fp, return_address]` at word `index`.
        fn record(&mut self, index: usize, caller_fp: usize, return_address: usize) {
            self.words[index] = caller_fp;
            self.words[index + 1] = return_address;
        }
        fn range(&self) -> StackRange {
            StackRange {
                low: self.base,
                high: self.addr(self.words.len()),
            }
        }
    }

    impl StackMemory for FakeStack {
        fn read_word(&self, addr: usize) -> usize {
            let range = self.allowed.get().unwrap_or(self.range());
            assert!(
                addr >= range.low && addr + WORD_BYTES <= range.high,
                "read outside at {addr:#x}"
            );
            assert!(
                addr >= self.base && addr < self.range().high,
                "read off the fake at {addr:#x}"
            );
            assert_eq!(addr % WORD_BYTES, 0);
            self.words[(addr - self.base) / WORD_BYTES]
        }
    }

    fn same(address: usize) -> usize {
        address
    }

    fn walk(
        stack: &FakeStack,
        range: StackRange,
        fp: usize,
        skip: usize,
        max: usize,
    ) -> Vec<usize> {
        let mut frames = vec![0; max];
        stack.allowed.set(Some(range));
        let mut to_skip = skip;
        let skip_count = |_| to_skip.checked_sub(1).map(|left| to_skip = left).is_some();
        // SAFETY: the walk writes only return addresses.
        let slots = unsafe { slots_of(&mut frames) };
        let n = walk_chain(stack, range, fp, skip_count, same, slots);
        frames.truncate(n);
        frames
    }

    const BASE: usize = 0x7000_0000;

    /// Three frames at words 0, 4 and 8, the last one ending the chain with a zero fp.
    fn three_frames() -> FakeStack {
        let mut stack = FakeStack::new(BASE, 16);
        let (f0, f1, f2) = (stack.addr(0), stack.addr(4), stack.addr(8));
        stack.record(0, f1, 0x1111);
        stack.record(4, f2, 0x2222);
        stack.record(8, 0, 0x3333);
        let _ = f0;
        stack
    }

    #[test]
    fn follows_a_chain_innermost_first_and_stops_on_zero_fp() {
        let stack = three_frames();
        assert_eq!(
            walk(&stack, stack.range(), BASE, 0, 8),
            [0x1111, 0x2222, 0x3333]
        );
    }

    #[test]
    fn skip_drops_the_innermost_frames_and_depth_caps_the_rest() {
        let stack = three_frames();
        assert_eq!(walk(&stack, stack.range(), BASE, 1, 8), [0x2222, 0x3333]);
        assert_eq!(walk(&stack, stack.range(), BASE, 3, 8), [] as [usize; 0]);
        assert_eq!(walk(&stack, stack.range(), BASE, 0, 2), [0x1111, 0x2222]);
        assert_eq!(walk(&stack, stack.range(), BASE, 0, 0), [] as [usize; 0]);
    }

    #[test]
    fn zero_return_address_ends_the_walk_before_recording() {
        let mut stack = three_frames();
        stack.record(4, stack.addr(8), 0);
        assert_eq!(walk(&stack, stack.range(), BASE, 0, 8), [0x1111]);
    }

    #[test]
    fn misaligned_frame_pointer_is_never_read() {
        let mut stack = three_frames();
        // Word 11 is 8-byte but not 16-byte aligned.
        stack.record(4, stack.addr(11), 0x2222);
        stack.record(11, 0, 0x6666);
        assert_eq!(walk(&stack, stack.range(), BASE, 0, 8), [0x1111, 0x2222]);
        // A misaligned start reads nothing at all, even where it would find a record.
        assert_eq!(
            walk(&stack, stack.range(), BASE + 8, 0, 8),
            [] as [usize; 0]
        );
        stack.record(13, 0, 0x7777);
        assert_eq!(
            walk(&stack, stack.range(), stack.addr(13), 0, 8),
            [] as [usize; 0]
        );
    }

    #[test]
    fn a_chain_that_does_not_move_up_ends() {
        // Pointing back down, at itself (a one-record cycle) and a two-record cycle.
        let mut stack = three_frames();
        stack.record(4, stack.addr(0), 0x2222);
        assert_eq!(walk(&stack, stack.range(), BASE, 0, 8), [0x1111, 0x2222]);

        let mut stack = three_frames();
        stack.record(4, stack.addr(4), 0x2222);
        assert_eq!(walk(&stack, stack.range(), BASE, 0, 8), [0x1111, 0x2222]);

        let mut stack = three_frames();
        stack.record(8, stack.addr(4), 0x3333);
        assert_eq!(
            walk(&stack, stack.range(), BASE, 0, 64),
            [0x1111, 0x2222, 0x3333]
        );
    }

    #[test]
    fn frame_pointers_below_the_stack_pointer_are_never_read() {
        let stack = three_frames();
        // The walk may only start at or above `low`.
        let range = StackRange {
            low: stack.addr(4),
            high: stack.range().high,
        };
        assert_eq!(walk(&stack, range, BASE, 0, 8), [] as [usize; 0]);
        assert_eq!(walk(&stack, range, stack.addr(4), 0, 8), [0x2222, 0x3333]);
    }

    #[test]
    fn a_record_straddling_the_top_is_never_read() {
        let mut stack = three_frames();
        // Word 14 is 16-aligned and its record [14, 16) fits exactly; move the top down one
        // word so that it no longer does.
        stack.record(8, stack.addr(14), 0x3333);
        stack.record(14, 0, 0x4444);
        assert_eq!(
            walk(&stack, stack.range(), BASE, 0, 8),
            [0x1111, 0x2222, 0x3333, 0x4444]
        );
        let short = StackRange {
            low: BASE,
            high: stack.addr(15),
        };
        assert_eq!(walk(&stack, short, BASE, 0, 8), [0x1111, 0x2222, 0x3333]);
        // A record starting exactly at the top is outside as well.
        let at_top = StackRange {
            low: BASE,
            high: stack.addr(14),
        };
        assert_eq!(walk(&stack, at_top, BASE, 0, 8), [0x1111, 0x2222, 0x3333]);
    }

    #[test]
    fn frame_pointers_near_the_end_of_the_address_space_do_not_overflow() {
        let mut stack = three_frames();
        let near_end = usize::MAX & !(RECORD_ALIGN - 1);
        stack.record(4, near_end, 0x2222);
        assert_eq!(walk(&stack, stack.range(), BASE, 0, 8), [0x1111, 0x2222]);
        // A range whose top is tiny or at the very end cannot wrap either.
        let tiny = StackRange { low: 0, high: 8 };
        assert_eq!(walk(&stack, tiny, 0, 0, 8), [] as [usize; 0]);
        let whole = StackRange {
            low: usize::MAX - 15,
            high: usize::MAX,
        };
        assert_eq!(walk(&stack, whole, near_end, 0, 8), [] as [usize; 0]);
    }

    #[test]
    fn the_one_comparison_step_test_matches_the_plain_rules() {
        let plain = |fp: usize, next: usize, last: usize| {
            next > fp && next <= last && next % RECORD_ALIGN == 0
        };
        let one_comparison = |fp: usize, next: usize, last: usize| {
            records_below(last, next) < records_below(last, fp)
        };
        let edges = [
            0,
            1,
            8,
            15,
            16,
            17,
            32,
            48,
            4096,
            usize::MAX - 31,
            usize::MAX - 15,
        ];
        let last_records = [0, 16, 64, 4096, usize::MAX & !(RECORD_ALIGN - 1)];
        for &last in &last_records {
            let near_last = last.saturating_sub(64);
            let fps = (0..=last.min(128)).chain(near_last..=last);
            for fp in fps.filter(|fp| fp % RECORD_ALIGN == 0) {
                for &offset in &edges {
                    for next in [fp.wrapping_add(offset), fp.wrapping_sub(offset), offset] {
                        assert_eq!(
                            one_comparison(fp, next, last),
                            plain(fp, next, last),
                            "fp {fp:#x} next {next:#x} last {last:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_long_chain_stops_when_the_buffer_is_full() {
        let mut stack = FakeStack::new(BASE, 2 * 100 + 2);
        for frame in 0..100 {
            let index = frame * 2;
            let caller = if frame == 99 {
                0
            } else {
                stack.addr(index + 2)
            };
            stack.record(index, caller, 0x1000 + frame);
        }
        let frames = walk(&stack, stack.range(), BASE, 0, 64);
        assert_eq!(frames.len(), 64);
        assert!(frames.iter().enumerate().all(|(i, &ra)| ra == 0x1000 + i));
        assert_eq!(walk(&stack, stack.range(), BASE, 0, 128).len(), 100);
    }

    #[test]
    fn a_walk_writes_only_the_slots_it_reports() {
        // The allocator hands the walk an uninitialised buffer and reads back the reported
        // prefix only; that is sound because nothing past it is ever written.
        let stack = three_frames();
        stack.allowed.set(Some(stack.range()));
        let mut slots = [MaybeUninit::new(0xdead); 8];
        let n = walk_chain(
            &stack,
            stack.range(),
            BASE,
            |ra| ra == 0x1111,
            same,
            &mut slots,
        );
        // SAFETY: the walk reported `n` frames.
        assert_eq!(unsafe { filled(&slots, n) }, [0x2222, 0x3333]);
        for slot in &slots[n..] {
            // SAFETY: every slot was initialised before the walk.
            assert_eq!(unsafe { slot.assume_init() }, 0xdead);
        }
    }

    #[test]
    fn return_addresses_pass_through_the_cleaner() {
        let stack = three_frames();
        let mut frames = [0; 4];
        // SAFETY: the walk writes only return addresses.
        let slots = unsafe { slots_of(&mut frames) };
        let n = walk_chain(
            &stack,
            stack.range(),
            BASE,
            |_| false,
            |ra| ra & 0xff,
            slots,
        );
        assert_eq!(frames[..n], [0x11, 0x22, 0x33]);
    }

    #[test]
    fn only_leading_frames_are_skipped() {
        // Walks the whole stack into `frames`, dropping leading 0x1111 frames.
        fn walk_skipping_0x1111<'f>(stack: &FakeStack, frames: &'f mut [usize]) -> &'f [usize] {
            let skip = |ra| ra == 0x1111;
            // SAFETY: the walk writes only return addresses.
            let slots = unsafe { slots_of(frames) };
            let n = walk_chain(stack, stack.range(), BASE, skip, same, slots);
            &frames[..n]
        }
        // [0x1111, 0x1111, 0x3333]: both leading frames go.
        let mut stack = three_frames();
        stack.record(4, stack.addr(8), 0x1111);
        assert_eq!(walk_skipping_0x1111(&stack, &mut [0; 4]), [0x3333]);
        // Skipped frames do not use up the buffer.
        assert_eq!(walk_skipping_0x1111(&stack, &mut [0; 1]), [0x3333]);
        // [0x2222, 0x1111, 0x3333]: once a frame is kept, 0x1111 is kept too.
        let mut stack = three_frames();
        stack.record(0, stack.addr(4), 0x2222);
        stack.record(4, stack.addr(8), 0x1111);
        assert_eq!(
            walk_skipping_0x1111(&stack, &mut [0; 4]),
            [0x2222, 0x1111, 0x3333]
        );
    }
}
