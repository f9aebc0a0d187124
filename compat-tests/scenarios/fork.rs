//! fork() while a heap profiler runs: the child allocates, prints its
//! stats and exits through the profiler's drop (writing child.json); the
//! parent waits and carries on.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(code: i32) -> !;
}

#[inline(never)]
fn make(n: usize) -> Vec<u8> {
    std::hint::black_box(vec![5u8; n])
}

fn main() {
    use std::io::Write;
    let p = dhat::Profiler::builder().file_name("parent.json").build();
    let a = make(100);
    std::io::stdout().flush().unwrap();
    let pid = unsafe { fork() };
    if pid == 0 {
        let b = make(200);
        println!("child: {:?}", dhat::HeapStats::get());
        drop(a);
        drop(b);
        let p2 = std::mem::ManuallyDrop::new(p);
        let mut p2 = p2;
        let text = p2.drop_and_get_memory_output();
        std::fs::write("child.json", text).unwrap();
        std::io::stdout().flush().unwrap();
        unsafe { _exit(0) };
    }
    let mut status = 0;
    unsafe { waitpid(pid, &mut status, 0) };
    println!("child status {status}");
    let c = make(300);
    println!("parent: {:?}", dhat::HeapStats::get());
    drop(c);
    drop(a);
    drop(p);
    common::list_files("end");
}
