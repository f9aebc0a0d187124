//! HeapStats::get and AdHocStats::get in every state: before any profiler,
//! during each mode, after a failed assertion (heap and ad hoc), after
//! memory output, after a normal drop, in a Drop impl running during
//! unwinding, and from another thread.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::mem::ManuallyDrop;

fn both(label: &str) {
    common::outcome(&format!("{label} heap"), || println!("  {:?}", dhat::HeapStats::get()));
    common::outcome(&format!("{label} ad hoc"), || println!("  {:?}", dhat::AdHocStats::get()));
    common::outcome(&format!("{label} event"), || dhat::ad_hoc_event(1));
    common::outcome(&format!("{label} assert"), || dhat::assert!(true));
}

struct Probe(&'static str);
impl Drop for Probe {
    fn drop(&mut self) {
        both(self.0);
    }
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    both("before");
    {
        let _p = dhat::Profiler::builder().file_name("h.json").build();
        both("heap");
        std::thread::spawn(|| both("heap thread")).join().unwrap();
    }
    {
        let _p = dhat::Profiler::builder().ad_hoc().file_name("a.json").build();
        both("ad hoc");
    }
    {
        let _p = dhat::Profiler::builder().testing().file_name("ht.json").build();
        let _v = vec![1u8; 8];
        common::outcome("fail", || dhat::assert_eq!(dhat::HeapStats::get().curr_bytes, 7));
        both("heap post-assert");
    }
    {
        let _p = dhat::Profiler::builder().ad_hoc().testing().file_name("at.json").build();
        dhat::ad_hoc_event(5);
        common::outcome("fail", || dhat::assert!(false, "{} events", 1));
        both("ad hoc post-assert");
    }
    {
        let mut p = ManuallyDrop::new(dhat::Profiler::builder().build());
        let _ = p.drop_and_get_memory_output();
        both("after memory output");
    }
    both("after all");
    common::outcome("unwinding", || {
        let _p = dhat::Profiler::builder().file_name("u.json").build();
        let _probe = Probe("unwinding, profiler still alive");
        panic!("boom");
    });
    common::outcome("unwinding 2", || {
        let _probe = Probe("unwinding, profiler already dropped");
        let _p = dhat::Profiler::builder().file_name("u2.json").build();
        let _v = vec![1u8; 3];
        panic!("boom2");
    });
    common::list_files("end");
}
