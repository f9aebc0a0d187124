//! Builder settings in unusual orders and repeats (file_name twice, testing
//! before ad_hoc, trim set then reset), memory output of each mode with
//! eprint_json, and the header of the returned JSON.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::mem::ManuallyDrop;

fn header(text: &str) {
    // Keys and stable values up to "pps", then the per-point keys of the first point.
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("\"pid\"") || t.starts_with("\"te\"") || t.starts_with("\"tg\"") || t.starts_with("\"cmd\"") {
            out.push(t.split(':').next().unwrap().to_string());
            continue;
        }
        if t.starts_with("\"pps\"") {
            out.push(t.to_string());
            break;
        }
        out.push(t.to_string());
    }
    println!("header: {}", out.join(" "));
    let indent: Vec<usize> = text
        .lines()
        .take(4)
        .map(|l| l.len() - l.trim_start().len())
        .collect();
    println!("indent of first lines: {indent:?}, ends with newline: {}", text.ends_with('\n'));
}

fn main() {
    let b = dhat::Profiler::builder()
        .file_name("first.json")
        .testing()
        .file_name("second.json")
        .trim_backtraces(Some(1))
        .trim_backtraces(None)
        .ad_hoc()
        .eprint_json();
    println!("{b:?}");

    let mut p = ManuallyDrop::new(
        dhat::Profiler::builder()
            .eprint_json()
            .trim_backtraces(Some(0))
            .file_name("never.json")
            .build(),
    );
    let v = vec![5u8; 3];
    let text = p.drop_and_get_memory_output();
    header(&text);
    drop(v);

    let mut p = ManuallyDrop::new(dhat::Profiler::builder().ad_hoc().eprint_json().build());
    dhat::ad_hoc_event(4);
    let text = p.drop_and_get_memory_output();
    header(&text);

    let mut p = ManuallyDrop::new(dhat::Profiler::builder().ad_hoc().build());
    let text = p.drop_and_get_memory_output();
    header(&text);
    println!("empty ad hoc: {}", text.contains("\"pps\": []"));

    let mut p = ManuallyDrop::new(dhat::Profiler::builder().build());
    let text = p.drop_and_get_memory_output();
    header(&text);
    println!("empty heap: {} {}", text.contains("\"pps\": []"), text.contains("\"tg\": 0"));

    let mut p = ManuallyDrop::new(
        dhat::Profiler::builder().testing().ad_hoc().eprint_json().build(),
    );
    dhat::ad_hoc_event(4);
    let text = p.drop_and_get_memory_output();
    println!("testing ad hoc memory: {text:?}");

    {
        let _p = dhat::Profiler::builder()
            .ad_hoc()
            .testing()
            .file_name("t.json")
            .eprint_json()
            .build();
        dhat::ad_hoc_event(1);
        let units = dhat::AdHocStats::get().total_units;
        dhat::assert_eq!(units, 1);
    }
    {
        let _p = dhat::Profiler::builder()
            .file_name("eprint-file.json")
            .eprint_json()
            .trim_backtraces(Some(usize::MAX))
            .build();
        let w = vec![1u64; 4];
        drop(w);
    }
    common::list_files("end");
}
