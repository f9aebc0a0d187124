//! Ad hoc profiling: count your own events, weighted, by call site.
//!
//! `cargo run --release --features dhat-compat --example dhat_ad_hoc`
//!
//! Each `dhat::ad_hoc_event(weight)` adds one event and `weight` units at its call stack.
//! Here the events are bytes "sent" by two kinds of message; the file `dhat-ad-hoc.json`
//! shows which call sites sent how much.

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn send_greeting(name: &str) {
    dhat::ad_hoc_event(name.len() + 7);
}

fn send_report(rows: &[u32]) {
    dhat::ad_hoc_event(rows.len() * 4);
}

fn main() {
    let _profiler = dhat::Profiler::new_ad_hoc();
    for name in ["ada", "grace", "barbara"] {
        send_greeting(name);
    }
    let rows: Vec<u32> = (0..100).collect();
    for chunk in rows.chunks(30) {
        send_report(chunk);
    }
    let stats = dhat::AdHocStats::get();
    println!("{} events, {} units", stats.total_events, stats.total_units);
    // Drop: `dhat: Total:     ... units in 7 events` and `dhat-ad-hoc.json`.
}
