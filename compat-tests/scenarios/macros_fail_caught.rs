//! Every accepted form of the three assertion macros failing, each under
//! its own testing profiler and file name: payload kinds and texts, which
//! files are written, and how often the operands are evaluated.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::cell::Cell;

fn counted(counter: &Cell<u32>, value: u32) -> u32 {
    counter.set(counter.get() + 1);
    value
}

fn run(label: &str, file: &str, body: impl FnOnce(&Cell<u32>)) {
    let profiler = dhat::Profiler::builder().testing().file_name(file).build();
    let kept = vec![9u8; 24];
    let evaluations = Cell::new(0);
    common::outcome(label, || body(&evaluations));
    println!("{label}: operands evaluated {} times", evaluations.get());
    drop(kept);
    drop(profiler);
}

fn main() {
    println!("start");
    run("assert plain", "assert-plain.json", |n| {
        dhat::assert!(counted(n, 1) == 2)
    });
    run("assert args", "assert-args.json", |n| {
        dhat::assert!(counted(n, 1) == 2, "one is {} not {}", 1, 2)
    });
    run("assert literal", "assert-literal.json", |n| {
        dhat::assert!(counted(n, 1) == 2, "just text")
    });
    run("assert_eq plain", "eq-plain.json", |n| {
        dhat::assert_eq!(counted(n, 1), 2)
    });
    run("assert_eq comma", "eq-comma.json", |n| {
        dhat::assert_eq!(counted(n, 1), 2,)
    });
    run("assert_eq args", "eq-args.json", |n| {
        dhat::assert_eq!(counted(n, 1), 2, "{}-{}", "a", 7)
    });
    run("assert_eq strings", "eq-strings.json", |n| {
        let left = String::from("left\n\"quoted\"");
        n.set(n.get() + 1);
        dhat::assert_eq!(left, "right")
    });
    run("assert_ne plain", "ne-plain.json", |n| {
        dhat::assert_ne!(counted(n, 3), 3)
    });
    run("assert_ne args", "ne-args.json", |n| {
        dhat::assert_ne!(counted(n, 3), 3, "x = {:?}", Some(3))
    });
    common::list_files("end");
}
