//! Lifecycle: many windows, panics unwinding through profiled code, a window closed on
//! another thread, and a forked child that allocates and exits cleanly.

mod common;

use std::hint::black_box;

use mod_alloc::{ModAlloc, Profiler, ThreadProfiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

fn main() {
    common::check("a_thousand_start_stop_cycles", || {
        for i in 0..1_000usize {
            let p = Profiler::start();
            let t = ThreadProfiler::start();
            drop(black_box(vec![0u8; 100 + i]));
            let own = t.stop();
            let all = p.stop();
            // A leaked peak register would show up as a wrong peak after 63 cycles.
            assert_eq!(
                (all.alloc_count, all.peak_bytes),
                (1, 100 + i as u64),
                "cycle {i}"
            );
            assert_eq!(own, all, "cycle {i}");
        }
    });

    common::check("panic_unwinding_through_profiled_code", || {
        // A silent hook, and one panic beforehand, keep the panic machinery's own lazily
        // created state (std caches symbolication data for backtraces) out of the window.
        std::panic::set_hook(Box::new(|_| {}));
        let _ = std::panic::catch_unwind(|| panic!("warm-up"));
        let p = Profiler::start();
        let result = std::panic::catch_unwind(|| {
            let held = black_box(vec![1u8; 5_000]);
            if black_box(true) {
                panic!("deliberate panic with {} bytes held", held.len());
            }
        });
        // The payload (a boxed String) is the caller's to free.
        let panicked = result.is_err();
        drop(result);
        let s = p.stop();
        let _ = std::panic::take_hook();
        assert!(panicked);
        // The unwind freed the vector; the panic machinery's own blocks are freed too.
        assert_eq!((s.net_bytes, s.net_blocks), (0, 0), "{s:?}");
        assert!(s.peak_bytes >= 5_000);
    });

    common::check("window_closed_on_another_thread", || {
        let p = Profiler::start();
        let kept = black_box(vec![0u8; 2_048]);
        let stats = std::thread::spawn(move || {
            drop(kept);
            p.stop()
        })
        .join()
        .unwrap();
        // Counts are exact once threads are quiet. (The peak is not asserted: this thread's
        // unpublished 2 KiB is invisible to a window closed elsewhere, as documented.)
        assert!(
            stats.alloc_count >= 1 && stats.dealloc_count >= 1,
            "{stats:?}"
        );
        assert!(
            stats.total_bytes >= 2_048 && stats.freed_bytes >= 2_048,
            "{stats:?}"
        );
        // Its register was released: later windows still measure exactly.
        let q = Profiler::start();
        drop(black_box(vec![0u8; 10]));
        assert_eq!(q.stop().peak_bytes, 10);
    });

    #[cfg(target_os = "linux")]
    common::check("forked_child_allocates_and_exits_cleanly", fork::run);

    common::finish(if cfg!(target_os = "linux") { 4 } else { 3 });
}

#[cfg(target_os = "linux")]
mod fork {
    use std::hint::black_box;

    use mod_alloc::ThreadProfiler;

    extern "C" {
        fn fork() -> i32;
        fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
        fn _exit(code: i32) -> !;
    }

    pub fn run() {
        // Another thread exists, and is still running, at fork time, as in real programs. (A
        // thread that had already finished would be inherited by the child as a finished,
        // never-joined thread, which ThreadSanitizer reports as a leak.)
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let busy = std::thread::spawn(move || {
            let len = black_box(vec![0u8; 64]).len();
            let _ = wait.recv();
            len
        });
        // SAFETY: the child only allocates, measures and calls `_exit`.
        let pid = unsafe { fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let scope = ThreadProfiler::start();
            let v: Vec<u64> = black_box((0..10_000).collect());
            drop(v);
            let s = scope.stop();
            let ok = s.alloc_count == 1 && s.peak_bytes == 80_000 && s.net_bytes == 0;
            // SAFETY: ends the child without running the parent's exit handlers twice.
            unsafe { _exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is a valid out-pointer.
        assert_eq!(unsafe { waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(
            status, 0,
            "child reported wrong figures or crashed (status {status:#x})"
        );
        release.send(()).unwrap();
        busy.join().unwrap();
    }
}
