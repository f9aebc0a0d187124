//! Process-wide mutexes that `fork()` never leaves locked in the child.
//!
//! A child process has only the thread that forked. If another thread held one of the
//! crate's mutexes at that moment, the child's copy stays locked forever, and the child's
//! first profiler start or symbol lookup hangs. Each mutex made with [`fork_safe_mutex!`]
//! registers fork handlers the first time it is locked: before a fork, the forking thread
//! takes the mutex (waiting for a holder to finish); after it, in the parent and in the
//! child, it lets go.
//!
//! None of these mutexes is held while waiting for another lock of the crate, and their
//! holders record no allocator events, so taking them in the fork handlers, in whatever
//! order the handlers run, cannot deadlock with each other or with the heap profiler's.
//! The price: a `fork()` on one thread waits for the symbol lookup or profiler start that
//! another thread is in the middle of (a first lookup in a large binary can take a while).
//!
//! # First use
//!
//! The handlers exist only from a mutex's first lock on. A `fork()` that another thread is
//! already in the middle of when they are registered does not run them (glibc runs only the
//! handlers registered before its prepare phase began), so if the first locker then holds
//! the mutex before that fork completes, the child inherits it held and its first profiler
//! start or symbol lookup hangs. The window is one registration wide, once per mutex per
//! process; every fork that starts after a mutex's first lock is covered.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Registers `before` (prepare) and `after` (parent and child) as fork handlers the first
/// time it is called with `flag`; `false` if that registration failed. It never waits for
/// another caller, unlike a `Once`: a `Once` that another thread is running when a fork
/// lands stays "running" in the child for good, and the child's first call would hang.
pub(crate) fn register_fork_handlers_once(
    flag: &AtomicBool,
    before: unsafe extern "C" fn(),
    after: unsafe extern "C" fn(),
) -> bool {
    if flag.swap(true, Ordering::AcqRel) {
        return true;
    }
    crate::sys::register_fork_handlers(before, after)
}

/// A `Mutex` held across `fork()`; see the module docs. Declare one with
/// [`fork_safe_mutex!`].
pub(crate) struct ForkSafeMutex<T: 'static> {
    mutex: Mutex<T>,
    registered: AtomicBool,
    before_fork: unsafe extern "C" fn(),
    after_fork: unsafe extern "C" fn(),
    /// The guard taken by `before_fork`, until `after_fork`. Only the thread holding the
    /// mutex touches it, so the mutex itself guards it.
    held: UnsafeCell<Option<MutexGuard<'static, T>>>,
}

// SAFETY: the value is behind `mutex`, and `held` is only read or written by the thread that
// holds `mutex` (see `hold_for_fork` and `release_after_fork`).
unsafe impl<T: Send> Sync for ForkSafeMutex<T> {}

impl<T> ForkSafeMutex<T> {
    /// Used by [`fork_safe_mutex!`], which supplies handlers that name the static.
    pub(crate) const fn new(
        value: T,
        before_fork: unsafe extern "C" fn(),
        after_fork: unsafe extern "C" fn(),
    ) -> Self {
        ForkSafeMutex {
            mutex: Mutex::new(value),
            registered: AtomicBool::new(false),
            before_fork,
            after_fork,
            held: UnsafeCell::new(None),
        }
    }

    /// Locks the mutex, registering the fork handlers first if this is the first time. A
    /// poisoned mutex is taken as it is: its holders leave the value consistent.
    pub(crate) fn lock(&'static self) -> MutexGuard<'static, T> {
        // Without handlers (a failed registration) a fork may still hang the child, as it
        // would have before; nothing else changes.
        let _ = register_fork_handlers_once(&self.registered, self.before_fork, self.after_fork);
        self.raw_lock()
    }

    fn raw_lock(&'static self) -> MutexGuard<'static, T> {
        self.mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fork's prepare handler.
    ///
    /// # Safety
    ///
    /// Called only by the fork handlers, on the forking thread, which must not hold the
    /// mutex already; [`ForkSafeMutex::release_after_fork`] follows on the same thread.
    pub(crate) unsafe fn hold_for_fork(&'static self) {
        let guard = self.raw_lock();
        // SAFETY: this thread holds the mutex, which guards `held`.
        unsafe { *self.held.get() = Some(guard) };
    }

    /// The fork's parent and child handler: lets go of the mutex taken before the fork.
    ///
    /// # Safety
    ///
    /// Called only after [`ForkSafeMutex::hold_for_fork`] on this thread (in a child, the
    /// thread that forked, which is this one).
    pub(crate) unsafe fn release_after_fork(&'static self) {
        // SAFETY: this thread holds the mutex (taken in `hold_for_fork`), which guards
        // `held`; dropping the guard unlocks it.
        drop(unsafe { (*self.held.get()).take() });
    }
}

/// Declares a `static` [`ForkSafeMutex`], with the fork handlers that name it.
macro_rules! fork_safe_mutex {
    ($(#[$meta:meta])* static $name:ident: $value:ty = $init:expr;) => {
        $(#[$meta])*
        static $name: $crate::fork_lock::ForkSafeMutex<$value> = {
            unsafe extern "C" fn before_fork() {
                // SAFETY: only ever run as this mutex's prepare handler.
                unsafe { $name.hold_for_fork() }
            }
            unsafe extern "C" fn after_fork() {
                // SAFETY: only ever run as this mutex's parent and child handler.
                unsafe { $name.release_after_fork() }
            }
            $crate::fork_lock::ForkSafeMutex::new($init, before_fork, after_fork)
        };
    };
}
pub(crate) use fork_safe_mutex;
