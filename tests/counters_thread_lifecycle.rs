//! Allocator calls made while a thread starts and while its thread-locals are destroyed
//! are still counted, and nothing panics or aborts.

mod common;

#[cfg(unix)]
use std::alloc::{GlobalAlloc, Layout};
use std::cell::RefCell;
#[cfg(unix)]
use std::ffi::{c_int, c_void};
use std::hint::black_box;

use mod_alloc::{ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

/// A thread-local whose destructor allocates and frees.
struct AllocatesOnDrop(Vec<u8>);

impl Drop for AllocatesOnDrop {
    fn drop(&mut self) {
        let copy = black_box(self.0.clone());
        let text = black_box(format!("{} bytes", copy.len()));
        drop((copy, text));
    }
}

thread_local! {
    static LATE: RefCell<Option<AllocatesOnDrop>> = const { RefCell::new(None) };
}

/// Runs 16 threads; with `late`, each leaves a thread-local that allocates on destruction.
fn spawn_and_join(late: bool) -> mod_alloc::AllocStats {
    let p = Profiler::start();
    let handles: Vec<_> = (0..16)
        .map(|i| {
            std::thread::spawn(move || {
                if late {
                    LATE.with(|slot| *slot.borrow_mut() = Some(AllocatesOnDrop(vec![7; 100 + i])));
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    p.stop()
}

/// A thread started with `pthread_create` directly: unlike `std::thread::spawn`, whose
/// start-up allocates in the new thread, it runs nothing of Rust's before `start`.
#[cfg(unix)]
fn run_raw_thread(start: extern "C" fn(*mut c_void) -> *mut c_void, arg: usize) -> usize {
    extern "C" {
        fn pthread_create(
            thread: *mut usize,
            attr: *const c_void,
            start: extern "C" fn(*mut c_void) -> *mut c_void,
            arg: *mut c_void,
        ) -> c_int;
        fn pthread_join(thread: usize, result: *mut *mut c_void) -> c_int;
    }
    let mut thread = 0usize;
    let mut result: *mut c_void = std::ptr::null_mut();
    // SAFETY: `pthread_t` is pointer-sized on the Unix targets this crate supports, `start`
    // has the C ABI and never unwinds, and the thread is joined once.
    unsafe {
        assert_eq!(
            pthread_create(&mut thread, std::ptr::null(), start, arg as *mut c_void),
            0
        );
        assert_eq!(pthread_join(thread, &mut result), 0);
    }
    result as usize
}

#[cfg(unix)]
extern "C" fn grow_block(block: *mut c_void) -> *mut c_void {
    let layout = Layout::from_size_align(100, 8).unwrap();
    // SAFETY: `block` came from `GLOBAL` with `layout`.
    unsafe { GLOBAL.realloc(block.cast(), layout, 1_000).cast() }
}

#[cfg(unix)]
extern "C" fn keep_block(block: *mut c_void) -> *mut c_void {
    block
}

/// Runs one thread that reallocates a block this thread allocated, from 100 to 1,000 bytes,
/// as its first allocator call (the event that acquires the thread's slot), or, without
/// `grow`, makes no allocator call at all; returns the window's figures.
#[cfg(unix)]
fn first_event_realloc(grow: bool) -> mod_alloc::AllocStats {
    let layout = Layout::from_size_align(100, 8).unwrap();
    // SAFETY: the size is not zero.
    let block = unsafe { GLOBAL.alloc(layout) } as usize;
    assert_ne!(block, 0);
    let p = Profiler::start();
    let moved = run_raw_thread(if grow { grow_block } else { keep_block }, block);
    let stats = p.stop();
    assert_ne!(moved, 0);
    let size = if grow { 1_000 } else { 100 };
    // SAFETY: `moved` came from `GLOBAL` with this layout.
    unsafe { GLOBAL.dealloc(moved as *mut u8, Layout::from_size_align(size, 8).unwrap()) };
    stats
}

/// A C library's thread-exit destructor (a `pthread_key_create` key), which glibc runs in
/// key order: this key is created after the allocator's own, so its destructor runs after the
/// allocator's exit hook has handed the thread's slot back.
#[cfg(target_os = "linux")]
mod key_destructor {
    use super::*;

    type Key = std::ffi::c_uint;

    extern "C" {
        fn pthread_key_create(
            key: *mut Key,
            destructor: Option<extern "C" fn(*mut c_void)>,
        ) -> c_int;
        fn pthread_key_delete(key: Key) -> c_int;
        fn pthread_setspecific(key: Key, value: *const c_void) -> c_int;
    }

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 8).unwrap()
    }

    /// Grows the thread's block from 100 to 1,000 bytes, then frees it.
    extern "C" fn grow_and_free(block: *mut c_void) {
        // SAFETY: `block` came from `GLOBAL` with `layout(100)` in `set_block`.
        unsafe {
            let grown = GLOBAL.realloc(block.cast(), layout(100), 1_000);
            assert!(!grown.is_null());
            GLOBAL.dealloc(grown, layout(1_000));
        }
    }

    /// Allocates 100 bytes and leaves them to the key's destructor.
    extern "C" fn set_block(key: *mut c_void) -> *mut c_void {
        // SAFETY: the size is not zero.
        let block = unsafe { GLOBAL.alloc(layout(100)) };
        assert!(!block.is_null());
        // SAFETY: `key` is a live key made by `pthread_key_create`.
        assert_eq!(
            unsafe { pthread_setspecific(key as usize as Key, block.cast()) },
            0
        );
        std::ptr::null_mut()
    }

    /// Allocates nothing.
    extern "C" fn nothing(_key: *mut c_void) -> *mut c_void {
        std::ptr::null_mut()
    }

    /// One raw thread whose key destructor reallocates and frees its block, or, without
    /// `late`, a thread that makes no allocator call; returns the window's figures.
    pub(super) fn run(late: bool) -> mod_alloc::AllocStats {
        let mut key: Key = 0;
        // SAFETY: `key` is a valid place for the new key; the destructor has the C ABI.
        assert_eq!(
            unsafe { pthread_key_create(&mut key, Some(grow_and_free)) },
            0
        );
        let p = Profiler::start();
        run_raw_thread(if late { set_block } else { nothing }, key as usize);
        let stats = p.stop();
        // SAFETY: the key is no longer used.
        unsafe { pthread_key_delete(key) };
        stats
    }
}

fn main() {
    #[cfg(target_os = "linux")]
    common::check(
        "a_realloc_in_a_thread_exit_destructor_after_the_hook",
        || {
            let late = key_destructor::run(true);
            let without = key_destructor::run(false);
            // After the exit hook the events no longer have the thread's slot; they must still
            // be counted, the realloc as a realloc.
            assert_eq!(
                (
                    late.alloc_count - without.alloc_count,
                    late.realloc_count - without.realloc_count,
                    late.dealloc_count - without.dealloc_count,
                    late.total_bytes - without.total_bytes,
                    late.freed_bytes - without.freed_bytes,
                ),
                (1, 1, 1, 1_100, 1_100),
                "{late:?} vs {without:?}"
            );
        },
    );
    #[cfg(unix)]
    common::check("a_realloc_that_is_a_thread_s_first_event", || {
        let with_realloc = first_event_realloc(true);
        let without = first_event_realloc(false);
        // The realloc frees its 100 bytes and allocates 1,000, whichever path counts it.
        assert_eq!(
            (
                with_realloc.realloc_count - without.realloc_count,
                with_realloc.total_bytes - without.total_bytes,
                with_realloc.freed_bytes - without.freed_bytes,
                with_realloc.net_bytes - without.net_bytes,
                with_realloc.alloc_count - without.alloc_count,
            ),
            (1, 1_000, 100, 900, 0),
            "{with_realloc:?} vs {without:?}"
        );
    });
    common::check("allocation_in_thread_local_destructors", || {
        let with_destructor = spawn_and_join(true);
        let without = spawn_and_join(false);
        // Each thread adds its 100+i block, and its destructor a clone of it and a String:
        // if calls made during thread-local destruction were lost, only the first would show.
        let extra_allocs = with_destructor.alloc_count - without.alloc_count;
        let extra_bytes = with_destructor.total_bytes - without.total_bytes;
        assert!(extra_allocs >= 16 * 3, "{with_destructor:?} vs {without:?}");
        assert!(extra_bytes >= (0..16).map(|i| 2 * (100 + i) + 9).sum::<u64>());
        for s in [with_destructor, without] {
            assert_eq!(s.alloc_count, s.dealloc_count, "{s:?}");
            assert_eq!(s.net_bytes, 0, "{s:?}");
        }
    });
    common::finish(if cfg!(target_os = "linux") {
        3
    } else if cfg!(unix) {
        2
    } else {
        1
    });
}
