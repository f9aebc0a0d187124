//! Helpers shared by the scenarios. Nothing here names `dhat`, so the module
//! is identical in both builds; each scenario pulls it in with
//! `#[path = "common/mod.rs"] mod common;`.
#![allow(dead_code)]

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Describes a panic payload the way the differential runner compares it:
/// its kind (`&str`, `String` or something else) and its text.
pub fn describe(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        format!("&str {text:?}")
    } else if let Some(text) = payload.downcast_ref::<String>() {
        format!("String {text:?}")
    } else {
        "non-string payload".to_string()
    }
}

/// Runs `body`, printing on stdout whether it returned or how it panicked.
pub fn outcome<R>(label: &str, body: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => {
            println!("{label}: returned");
            Some(value)
        }
        Err(payload) => {
            println!("{label}: panicked with {}", describe(payload.as_ref()));
            None
        }
    }
}

/// Lists the JSON-ish files in the current directory, so stdout records
/// which files existed at a given moment of the scenario.
pub fn list_files(label: &str) {
    let mut names: Vec<String> = std::fs::read_dir(".")
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    println!("{label}: files {names:?}");
}

/// A block of `n` bytes, from one call site of its own.
#[inline(never)]
pub fn site(n: usize) -> Vec<u8> {
    std::hint::black_box(Vec::with_capacity(n))
}

/// [`site`] at the bottom of `levels` frames of recursion, every level the same return
/// address, so that stacks through it differ only above or below it.
#[inline(never)]
pub fn deep(levels: usize, n: usize) -> Vec<u8> {
    if std::hint::black_box(levels) == 0 {
        return site(n);
    }
    let block = deep(levels - 1, n);
    std::hint::black_box(block)
}
