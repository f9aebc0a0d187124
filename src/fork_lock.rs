//! Process-wide mutexes that `fork()` never leaves locked in the child, and the registration
//! of every fork handler the crate has.
//!
//! A child process has only the thread that forked. If another thread held one of the
//! crate's locks at that moment, the child's copy stays locked forever, and the child's first
//! profiler start or symbol lookup hangs. So every lock the crate takes outside the
//! allocator's lock-free paths has fork handlers: before a fork, the forking thread takes the
//! lock (waiting for a holder to finish); after it, in the parent and in the child, it lets
//! go. The mutexes made with [`fork_safe_mutex!`] carry their own handlers; the heap
//! profiler's and the dhat phase's spin locks have theirs beside them.
//!
//! The price: a `fork()` on one thread waits for the symbol lookup or profiler start that
//! another thread is in the middle of (a first lookup in a large binary can take a while).
//!
//! # When the handlers are registered
//!
//! [`register_all`] registers them all, once per process, as the binary that holds the crate
//! is loaded (see [`crate::sys::run_at_load`]) on targets with initialiser sections: ELF
//! (Linux, Android, the BSDs, illumos, Solaris) and Apple's Mach-O. For an executable that is
//! before `main`; for a shared library loaded with `dlopen` it is at that call, so handlers
//! the program registered before then run inside the crate's (see "Order"). A lock's first
//! use calls it too, which is all that other targets get.
//!
//! Registering at first use alone would leave a window. glibc runs only the handlers that
//! were registered when a fork's prepare phase began, so a first locker that registers while
//! another thread's fork is under way, then holds its lock until that fork completes, leaves
//! the child a lock that is held for good (`tests/reliability_fork_first_use.rs` sets this up
//! and hung every time before the handlers moved to load time). On targets without
//! initialiser sections that window remains, once per process.
//!
//! # Order
//!
//! `pthread_atfork` runs prepare handlers in the reverse order of registration, and the
//! parent and child handlers in order, so the registration order fixes the order a fork takes
//! the locks in, and it has to be the order in which the crate's code nests them:
//!
//! - the mutexes made with [`fork_safe_mutex!`] first. Their holders never wait for another
//!   lock of the crate and record no allocator events, so any place would do; first is the
//!   one that stays safe should a holder ever allocate in view of the heap profiler, whose
//!   handler holds every thread's lock during the fork;
//! - then the dhat phase lock, which `Profiler::build` holds while it starts the heap
//!   session;
//! - then the heap profiler's session lock and every thread's lock.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::diagnostics::stderr_line;

/// A lock's handlers for `pthread_atfork`: `before` runs as the prepare handler, `after` as
/// both the parent and the child handler.
#[derive(Clone, Copy)]
pub(crate) struct ForkHandlers {
    pub(crate) before: unsafe extern "C" fn(),
    pub(crate) after: unsafe extern "C" fn(),
}

/// Registers every lock's fork handlers, the first time it is called in the process, in the
/// order described under "Order" above. It never waits for another caller, unlike a `Once`:
/// a `Once` that another thread is running when a fork lands stays "running" in the child
/// for good, and the child's first call would hang.
pub(crate) fn register_all() {
    static REGISTERED: AtomicBool = AtomicBool::new(false);
    if REGISTERED.load(Ordering::Acquire) || REGISTERED.swap(true, Ordering::AcqRel) {
        return;
    }
    let mut all_registered = true;
    let mut register = |pair: ForkHandlers| {
        all_registered &= crate::sys::register_fork_handlers(pair.before, pair.after);
    };
    // In registration order: a fork's prepare handlers run from the last of these to the
    // first.
    #[cfg(feature = "dhat-compat")]
    {
        register(crate::heap::fork_handlers());
        register(crate::dhat_compat::fork_handlers());
    }
    register(crate::sites::fork_handlers());
    #[cfg(feature = "symbolicate")]
    crate::symbolize::fork_handlers().for_each(register);
    if !all_registered {
        // Without its handlers a fork may hang the child, as it would with no handlers at
        // all; nothing else changes.
        stderr_line(format_args!(
            "mod-alloc: could not register fork handlers; a child forked while another thread \
             runs a profiler or a symbol lookup may hang"
        ));
    }
}

/// The loader's entry point for [`register_all`].
// Rust 1.75 does not count the use in `run_at_load!`'s anonymous `const` just below.
#[allow(dead_code)]
extern "C" fn register_all_at_load() {
    register_all();
}

crate::sys::run_at_load!(register_all_at_load);

/// A `Mutex` held across `fork()`; see the module docs. Declare one with
/// [`fork_safe_mutex!`].
pub(crate) struct ForkSafeMutex<T: 'static> {
    mutex: Mutex<T>,
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
            before_fork,
            after_fork,
            held: UnsafeCell::new(None),
        }
    }

    /// Locks the mutex, registering the crate's fork handlers first where the loader did not
    /// (see "When the handlers are registered"). A poisoned mutex is taken as it is: its
    /// holders leave the value consistent.
    pub(crate) fn lock(&'static self) -> MutexGuard<'static, T> {
        register_all();
        self.raw_lock()
    }

    /// The handlers [`register_all`] registers for this mutex.
    pub(crate) fn fork_handlers(&'static self) -> ForkHandlers {
        ForkHandlers {
            before: self.before_fork,
            after: self.after_fork,
        }
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
