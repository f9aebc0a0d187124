//! A walk from a signal handler running on an alternate signal stack captures nothing and
//! reads nothing: the handler's stack is not the thread's stack, so it cannot be bounded.
//!
//! Run with `RUSTFLAGS="-C force-frame-pointers=yes"`.
#![cfg(all(
    feature = "backtraces",
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use core::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mod_alloc::__private::walk;

/// `stack_t` on Linux x86_64 and aarch64.
#[repr(C)]
struct SignalStack {
    base: *mut c_void,
    flags: c_int,
    size: usize,
}

/// `struct sigaction` as glibc lays it out on x86_64 and aarch64.
#[repr(C)]
struct SignalAction {
    handler: usize,
    mask: [u64; 16],
    flags: c_int,
    restorer: usize,
}

const SIGUSR1: c_int = 10;
const SA_ONSTACK: c_int = 0x0800_0000;

extern "C" {
    fn sigaltstack(new: *const SignalStack, old: *mut SignalStack) -> c_int;
    fn sigaction(signal: c_int, new: *const SignalAction, old: *mut SignalAction) -> c_int;
    fn raise(signal: c_int) -> c_int;
}

static HANDLER_RAN: AtomicBool = AtomicBool::new(false);
static HANDLER_WALK: AtomicUsize = AtomicUsize::new(usize::MAX);
static HANDLER_CAPTURE: AtomicUsize = AtomicUsize::new(usize::MAX);
static HANDLER_SP: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_signal: c_int) {
    let local = 0u8;
    HANDLER_SP.store(&local as *const u8 as usize, Ordering::Relaxed);
    let mut frames = [0usize; 16];
    HANDLER_WALK.store(walk::walk_here(&mut frames), Ordering::Relaxed);
    HANDLER_CAPTURE.store(walk::capture_for_tests(&mut frames), Ordering::Relaxed);
    HANDLER_RAN.store(true, Ordering::Relaxed);
}

#[test]
fn a_handler_on_an_alternate_stack_captures_nothing() {
    // Walks on this thread's own stack work, and cache its bounds.
    let mut frames = [0usize; 16];
    assert!(walk::walk_here(&mut frames) >= 1);

    // An alternate stack on the heap: far from the thread's stack.
    const SIZE: usize = 256 * 1024;
    let mut alternate = vec![0u8; SIZE].into_boxed_slice();
    let stack = SignalStack {
        base: alternate.as_mut_ptr().cast(),
        flags: 0,
        size: SIZE,
    };
    let action = SignalAction {
        handler: on_signal as extern "C" fn(c_int) as usize,
        mask: [0; 16],
        flags: SA_ONSTACK,
        restorer: 0,
    };
    // SAFETY: `stack` describes live memory that outlives its use (it is disabled below before
    // being freed); the action's handler matches the plain-handler ABI.
    unsafe {
        assert_eq!(sigaltstack(&stack, core::ptr::null_mut()), 0);
        assert_eq!(sigaction(SIGUSR1, &action, core::ptr::null_mut()), 0);
        assert_eq!(raise(SIGUSR1), 0);
    }
    assert!(HANDLER_RAN.load(Ordering::Relaxed));

    // The handler really ran on the alternate stack...
    let sp = HANDLER_SP.load(Ordering::Relaxed);
    let range = alternate.as_ptr() as usize..alternate.as_ptr() as usize + SIZE;
    assert!(
        range.contains(&sp),
        "handler ran at {sp:#x}, not on the alternate stack"
    );
    // ...where no walk may read: its frame records would lead back to the interrupted stack,
    // which is outside the range the walker can prove readable.
    assert_eq!(HANDLER_WALK.load(Ordering::Relaxed), 0);
    assert_eq!(HANDLER_CAPTURE.load(Ordering::Relaxed), 0);
    assert!(walk::foreign_stack_seen());

    // Back on the thread's stack, walks work again.
    assert!(walk::walk_here(&mut frames) >= 1);

    let disable = SignalStack {
        base: core::ptr::null_mut(),
        flags: 2, /* SS_DISABLE */
        size: 0,
    };
    // SAFETY: disabling the alternate stack before its memory is freed.
    unsafe { assert_eq!(sigaltstack(&disable, core::ptr::null_mut()), 0) };
    drop(alternate);
}

#[test]
fn a_fresh_thread_walks_its_own_stack() {
    let walked = std::thread::spawn(|| {
        let mut frames = [0usize; 8];
        (walk::walk_here(&mut frames), walk::walk_here(&mut frames))
    })
    .join()
    .unwrap();
    assert!(walked.0 >= 1 && walked.1 >= 1);
}
