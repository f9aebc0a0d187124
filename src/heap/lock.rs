//! A minimal spin lock for the heap profiler's bookkeeping.
//!
//! It guards a few dozen instructions of integer updates and table probes per event. Stack
//! walks, clock reads and the inner allocator's work all happen outside it. It never
//! allocates, and waiters yield to the scheduler after a short spin so a preempted holder
//! can finish. The holder's own allocator calls are suspended (see `heap/mod.rs`), so it
//! cannot re-enter itself.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one thread at a time.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    pub(crate) const fn new(value: T) -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        let mut spins = 0u32;
        // `Acquire` on taking the lock pairs with the `Release` in `SpinGuard::drop`: the
        // previous holder's writes are visible to the next.
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while self.locked.load(Ordering::Relaxed) {
                spins += 1;
                if spins < 64 {
                    core::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
        SpinGuard { lock: self }
    }
}

impl<T> SpinLock<T> {
    /// The value's address, for initialising a lock in place in zeroed memory (an unlocked
    /// lock is all zeroes) without forming a reference to a value not yet written.
    ///
    /// # Safety
    ///
    /// `this` must point to memory valid for a `SpinLock<T>`.
    pub(crate) unsafe fn value_ptr(this: *mut Self) -> *mut T {
        // SAFETY: the caller guarantees `this` is valid; no reference is formed.
        unsafe { UnsafeCell::raw_get(core::ptr::addr_of_mut!((*this).value)) }
    }

    /// Takes the lock without a guard, for the fork handlers.
    ///
    /// # Safety
    ///
    /// The caller must call [`SpinLock::force_unlock`] exactly once afterwards and must not
    /// touch the value in between.
    pub(crate) unsafe fn lock_for_fork(&self) {
        core::mem::forget(self.lock());
    }

    /// Releases a lock taken by [`SpinLock::lock_for_fork`].
    ///
    /// # Safety
    ///
    /// The lock must be held by `lock_for_fork` in this thread (or, in a forked child, by the
    /// thread that forked, which is this one).
    pub(crate) unsafe fn force_unlock(&self) {
        self.locked.store(false, Ordering::Release);
    }
}

pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard's existence means this thread holds the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard's existence means this thread holds the lock, exclusively.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::SpinLock;

    #[test]
    fn increments_from_several_threads_are_not_lost() {
        static COUNTER: SpinLock<u64> = SpinLock::new(0);
        let per_thread = if cfg!(miri) { 100 } else { 100_000 };
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..per_thread {
                        *COUNTER.lock() += 1;
                    }
                });
            }
        });
        assert_eq!(*COUNTER.lock(), 4 * per_thread);
    }
}
