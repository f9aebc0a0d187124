//! A growable array of `Copy` values whose memory comes from [`System`], never from the
//! global allocator: the heap profiler's tables grow while the allocator itself is running.
//!
//! Growth failure is reported, not panicked on; the caller then counts the event as lost.

use core::marker::PhantomData;
use core::ptr::NonNull;
use std::alloc::{GlobalAlloc, Layout, System};

/// The alignment, and size granule, of every buffer: two 64-byte cache lines, the unit that
/// x86_64's adjacent-line prefetcher pulls in. The tables a thread writes on every event
/// (its live blocks, its point cache) live in these buffers; sharing a line with memory
/// that another thread writes (such as a block that thread allocated next to it) would make
/// the two threads take the line from each other on every event.
pub(crate) const CACHE_LINES: usize = 128;

pub(crate) struct SysVec<T: Copy> {
    ptr: NonNull<T>,
    len: usize,
    capacity: usize,
    _owns: PhantomData<T>,
}

// SAFETY: `SysVec` owns its buffer exclusively, like `Vec`; sending it sends the values.
unsafe impl<T: Copy + Send> Send for SysVec<T> {}

impl<T: Copy> SysVec<T> {
    pub(crate) const fn new() -> Self {
        SysVec {
            ptr: NonNull::dangling(),
            len: 0,
            capacity: 0,
            _owns: PhantomData,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        // SAFETY: the first `len` elements are initialised; a dangling pointer is fine for 0.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: as above, and `&mut self` gives exclusive access.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Appends `value`; `false` if memory ran out (nothing changes then).
    pub(crate) fn push(&mut self, value: T) -> bool {
        if self.len == self.capacity && !self.grow(self.len + 1) {
            return false;
        }
        // SAFETY: `len < capacity` after a successful grow.
        unsafe { self.ptr.as_ptr().add(self.len).write(value) };
        self.len += 1;
        true
    }

    /// Appends all of `values`; `false` (and nothing appended) if memory ran out.
    pub(crate) fn extend_from_slice(&mut self, values: &[T]) -> bool {
        let Some(needed) = self.len.checked_add(values.len()) else {
            return false;
        };
        if needed > self.capacity && !self.grow(needed) {
            return false;
        }
        // SAFETY: capacity covers `len + values.len()`; source and destination don't overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(
                values.as_ptr(),
                self.ptr.as_ptr().add(self.len),
                values.len(),
            )
        };
        self.len = needed;
        true
    }

    /// A buffer of `len` copies of `value`, or `None` if memory ran out.
    pub(crate) fn filled(value: T, len: usize) -> Option<Self> {
        let mut vec = SysVec::new();
        if !vec.grow(len) {
            return None;
        }
        for _ in 0..len {
            vec.push(value);
        }
        Some(vec)
    }

    /// Removes the element at `index`, moving the last one into its place.
    pub(crate) fn swap_remove(&mut self, index: usize) {
        let last = self.len - 1;
        self.as_mut_slice().swap(index, last);
        self.len = last;
    }

    #[cfg(test)]
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    fn grow(&mut self, at_least: usize) -> bool {
        if core::mem::size_of::<T>() == 0 {
            self.capacity = usize::MAX;
            return true;
        }
        let capacity = at_least.max(self.capacity.saturating_mul(2)).max(8);
        let Ok(new_layout) = Self::layout_for(capacity) else {
            return false;
        };
        let raw = if self.capacity == 0 {
            // SAFETY: `new_layout` has a non-zero size (capacity >= 8, T not zero-sized).
            unsafe { System.alloc(new_layout) }
        } else {
            // SAFETY: the buffer was allocated by `System` with `self.layout()`, the layout of
            // its current capacity.
            unsafe { System.realloc(self.ptr.as_ptr().cast(), self.layout(), new_layout.size()) }
        };
        let Some(ptr) = NonNull::new(raw.cast::<T>()) else {
            return false;
        };
        self.ptr = ptr;
        self.capacity = capacity;
        true
    }

    fn layout(&self) -> Layout {
        // Cannot fail: the same layout was computed successfully when the buffer grew.
        Self::layout_for(self.capacity).unwrap_or(Layout::new::<T>())
    }

    /// The buffer's layout: whole cache-line pairs (see [`CACHE_LINES`]), so no other
    /// allocation shares a line with it.
    fn layout_for(capacity: usize) -> Result<Layout, core::alloc::LayoutError> {
        Ok(Layout::array::<T>(capacity)?
            .align_to(CACHE_LINES)?
            .pad_to_align())
    }
}

impl<T: Copy> Drop for SysVec<T> {
    fn drop(&mut self) {
        if self.capacity != 0 && core::mem::size_of::<T>() != 0 {
            // SAFETY: allocated by `System` with this layout in `grow`.
            unsafe { System.dealloc(self.ptr.as_ptr().cast(), self.layout()) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{SysVec, CACHE_LINES};

    #[test]
    fn buffers_take_whole_cache_lines() {
        for capacity in [1usize, 3, 8, 100, 1000] {
            let v = SysVec::filled(7u8, capacity).unwrap();
            assert_eq!(
                v.as_slice().as_ptr() as usize % CACHE_LINES,
                0,
                "{capacity}"
            );
            assert_eq!(v.layout().size() % CACHE_LINES, 0, "{capacity}");
            assert!(v.layout().size() >= capacity);
        }
        let mut grown = SysVec::new();
        for i in 0..1000u32 {
            assert!(grown.push(i));
            assert_eq!(grown.as_slice().as_ptr() as usize % CACHE_LINES, 0);
        }
        assert_eq!(grown.as_slice()[999], 999, "kept across reallocations");
    }

    #[test]
    fn push_extend_and_fill() {
        let mut v = SysVec::new();
        for i in 0..100u64 {
            assert!(v.push(i));
        }
        assert!(v.extend_from_slice(&[7, 8, 9]));
        assert_eq!(v.len(), 103);
        assert_eq!(v.as_slice()[99..], [99, 7, 8, 9]);
        v.as_mut_slice()[0] = 42;
        assert_eq!(v.as_slice()[0], 42);
        let filled = SysVec::filled(3u32, 5).unwrap();
        assert_eq!(filled.as_slice(), [3; 5]);
        v.clear();
        assert_eq!(v.len(), 0);
    }
}
