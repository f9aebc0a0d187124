//! Allocator calls made while a thread starts and while its thread-locals are destroyed
//! are still counted, and nothing panics or aborts.

mod common;

use std::cell::RefCell;
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

fn main() {
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
    common::finish(1);
}
