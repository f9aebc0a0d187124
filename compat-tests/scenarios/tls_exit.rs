//! A spawned thread keeps blocks in a thread_local whose destructor frees
//! them and allocates more while the thread exits; then the profiler lives
//! in a main-thread thread_local and in an atexit handler's static, so it
//! is dropped after main returns.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::cell::RefCell;
use std::sync::Mutex;

struct Holder(Vec<Vec<u8>>);
impl Drop for Holder {
    fn drop(&mut self) {
        let extra = std::hint::black_box(vec![9u8; 77]);
        self.0.clear();
        std::hint::black_box(extra);
        let leak = Box::leak(Box::new([3u8; 19]));
        std::hint::black_box(leak);
    }
}

thread_local! {
    static HOLD: RefCell<Holder> = RefCell::new(Holder(Vec::new()));
    static MAIN_PROFILER: RefCell<Option<dhat::Profiler>> = RefCell::new(None);
}

static AT_EXIT: Mutex<Option<dhat::Profiler>> = Mutex::new(None);

extern "C" {
    fn atexit(cb: extern "C" fn()) -> i32;
}

extern "C" fn at_exit() {
    let v = std::hint::black_box(vec![1u8; 55]);
    println!("at exit stats: {:?}", dhat::HeapStats::get());
    drop(v);
    let p = AT_EXIT.lock().unwrap().take();
    drop(p);
    eprintln!("at exit done");
}

fn main() {
    {
        let _p = dhat::Profiler::builder().file_name("tls.json").build();
        std::thread::spawn(|| {
            HOLD.with(|h| {
                let mut h = h.borrow_mut();
                for n in [10usize, 20, 30] {
                    h.0.push(std::hint::black_box(vec![0u8; n]));
                }
            });
        })
        .join()
        .unwrap();
        println!("after join: {:?}", dhat::HeapStats::get());
    }
    MAIN_PROFILER.with(|m| {
        *m.borrow_mut() = Some(dhat::Profiler::builder().file_name("main-tls.json").build())
    });
    let kept = std::hint::black_box(vec![2u8; 33]);
    println!("main tls stats: {:?}", dhat::HeapStats::get());
    MAIN_PROFILER.with(|m| drop(m.borrow_mut().take()));
    drop(kept);

    unsafe { atexit(at_exit) };
    *AT_EXIT.lock().unwrap() = Some(dhat::Profiler::builder().file_name("atexit.json").build());
    let w = std::hint::black_box(vec![4u8; 44]);
    std::mem::forget(w);
    common::list_files("end of main");
}
