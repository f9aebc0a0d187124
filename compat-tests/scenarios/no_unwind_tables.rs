//! A Rust callback called from a C function that has frame pointers but no
//! unwind tables (`native/no_unwind_tables.c`, built without `.eh_frame`),
//! reached from two Rust callers. dhat's DWARF unwinder cannot step past
//! the C frame, so its stacks end there and both callers' blocks are one
//! program point; a frame-pointer walk goes on to the callers. Both blocks
//! are held at once, and the global peak comes later, from `main`. The
//! profile's first event is an ordinary allocation in `main`, so that
//! dhat's trimming below `main` works as usual. Written for x86-64 and
//! aarch64 Linux.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::ffi::c_int;
use std::hint::black_box;
use std::sync::Mutex;

type Callback = extern "C" fn(c_int);

#[link(name = "no_unwind_tables", kind = "static")]
extern "C" {
    fn no_unwind_call(callback: Callback, arg: c_int);
}

static HELD: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

#[inline(never)]
fn site(n: usize) -> Vec<u8> {
    black_box(Vec::with_capacity(n))
}

extern "C" fn callback(size: c_int) {
    let block = site(size as usize);
    HELD.lock().unwrap().push(block);
}

#[inline(never)]
fn caller_a() {
    // SAFETY: `no_unwind_call` calls `callback` once with the argument.
    unsafe { no_unwind_call(callback, black_box(100)) };
    black_box(1);
}

#[inline(never)]
fn caller_b() {
    // SAFETY: as above.
    unsafe { no_unwind_call(callback, black_box(100)) };
    black_box(2);
}

fn main() {
    println!("start");
    // Room for every block, so that the vector never grows while profiled.
    HELD.lock().unwrap().reserve(8);
    let profiler = dhat::Profiler::builder()
        .file_name("no-unwind.json")
        .build();
    drop(site(black_box(10)));
    caller_a();
    caller_b();
    println!("both held: {:?}", dhat::HeapStats::get());
    HELD.lock().unwrap().clear();
    drop(site(black_box(1000)));
    println!("end: {:?}", dhat::HeapStats::get());
    drop(profiler);
}
