//! `ModAlloc::write_dhat_json` with only the native `Profiler` running writes its call-site
//! table as a DHAT file: the header of a totals-only file, one program point per site with
//! its exact bytes and blocks, largest first, frames named in dhat's frame-string format, no
//! repeated `fs`, and nothing of the writer's own work. A dhat-style session still takes
//! precedence, and with no profiler at all the call fails. Needs frame pointers for the
//! per-function checks (`RUSTFLAGS="-C force-frame-pointers=yes"`): without them those are
//! narrowed to "every event is in the file", unless `MOD_ALLOC_EXPECT_FRAME_POINTERS=present`
//! says the build has them, and then the test fails.

mod common;

use common::{allocate_first, allocate_second, FIRST_SIZE, SECOND_SIZE};

use std::path::{Path, PathBuf};
use std::time::Instant;

use mod_alloc::{dhat_compat, measure_thread, ModAlloc, Profiler};
use serde_json::Value;

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const FIRST_COUNT: u64 = 7;
const SECOND_COUNT: u64 = 3;

fn temp_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "mod-alloc-call-sites-{}-{name}.json",
        std::process::id()
    ))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the file was written");
    std::fs::remove_file(path).unwrap();
    serde_json::from_str(&text).expect("valid JSON")
}

/// The frame strings of a program point, innermost first.
fn frames_of<'a>(json: &'a Value, pp: &Value) -> Vec<&'a str> {
    pp["fs"]
        .as_array()
        .expect("an fs list")
        .iter()
        .map(|index| {
            json["ftbl"][index.as_u64().unwrap() as usize]
                .as_str()
                .unwrap()
        })
        .collect()
}

/// The one program point whose frames name `function`, as (`tb`, `tbk`, frame strings).
fn point_naming<'a>(json: &'a Value, function: &str) -> (u64, u64, Vec<&'a str>) {
    let pps = json["pps"].as_array().unwrap();
    let naming: Vec<&Value> = pps
        .iter()
        .filter(|pp| {
            frames_of(json, pp)
                .iter()
                .any(|frame| frame.contains(function))
        })
        .collect();
    assert_eq!(naming.len(), 1, "one point names {function}: {json:#}");
    let pp = naming[0];
    (
        pp["tb"].as_u64().unwrap(),
        pp["tbk"].as_u64().unwrap(),
        frames_of(json, pp),
    )
}

fn without_a_profiler_it_fails_and_writes_nothing() {
    let path = temp_file("none");
    let error = GLOBAL.write_dhat_json(&path).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::Other);
    let message = error.to_string();
    assert!(
        message.contains("mod_alloc::Profiler") && message.contains("dhat_compat::Profiler"),
        "{message}"
    );
    assert!(!path.exists());
}

fn the_native_profiler_s_call_sites_become_a_dhat_file() {
    let before_start = Instant::now();
    let profiler = Profiler::start();
    for _ in 0..FIRST_COUNT {
        allocate_first();
    }
    for _ in 0..SECOND_COUNT {
        allocate_second();
    }

    // Written twice with nothing in between: the writer's own work is not recorded, in the
    // counters or in the call-site table, so the two files hold the same points.
    let (first, second) = (temp_file("first"), temp_file("second"));
    let (written, stats) = measure_thread(|| GLOBAL.write_dhat_json(&first));
    written.unwrap();
    assert_eq!(
        (stats.alloc_count, stats.realloc_count, stats.dealloc_count),
        (0, 0, 0),
        "the writer's own allocations are not counted: {stats:?}"
    );
    GLOBAL.write_dhat_json(&second).unwrap();
    let elapsed_us = before_start.elapsed().as_micros() as u64;
    let json = read_json(&first);
    let again = read_json(&second);
    assert_eq!(
        (&json["pps"], &json["ftbl"]),
        (&again["pps"], &again["ftbl"])
    );

    // The header: a totals-only file, so no lifetimes and no unit names.
    assert_eq!(json["dhatFileVersion"], 2);
    assert_eq!(json["mode"], "mod-alloc-call-sites");
    assert_eq!(json["verb"], "Allocated");
    assert_eq!(json["bklt"], false);
    assert_eq!(json["bkacc"], false);
    assert_eq!(json["tu"], "\u{b5}s");
    assert_eq!(json["Mtu"], "s");
    for key in ["tg", "tuth", "bu", "bsu", "bksu"] {
        assert!(json.get(key).is_none(), "{key} in {json:#}");
    }
    assert_eq!(json["pid"], std::process::id());
    let cmd: Vec<String> = std::env::args().collect();
    assert_eq!(json["cmd"], cmd.join(" "));
    let te = json["te"].as_u64().expect("te");
    assert!(
        te <= elapsed_us,
        "te {te} µs, but the profiler ran {elapsed_us} µs"
    );
    assert_eq!(json["ftbl"][0], "[root]");

    // The viewer rejects a file with two points at the same frames; ours never repeats one.
    let pps = json["pps"].as_array().unwrap();
    let mut seen = std::collections::HashSet::new();
    for pp in pps {
        assert!(seen.insert(pp["fs"].to_string()), "repeated fs in {json:#}");
        assert!(pp.get("tl").is_none() && pp.get("mb").is_none(), "{pp}");
    }

    let report = profiler.call_sites();
    if report.frame_pointers_missing {
        let notice = report.notice().unwrap_or_default();
        common::frame_pointers_not_found(
            &format!("the call-site self-test found no frame pointers ({notice})"),
            "checked only that every event is in the file",
        );
        // Stacks are short or empty, so the two functions may be unnamed or merged with
        // other sites, but their events are all there, at a site or at the frameless point.
        let blocks: u64 = pps.iter().map(|pp| pp["tbk"].as_u64().unwrap()).sum();
        assert!(blocks >= FIRST_COUNT + SECOND_COUNT, "{json:#}");
        drop(profiler);
        return;
    }
    for (function, size, count) in [
        (
            "dhat_json_call_sites::common::allocate_first",
            FIRST_SIZE,
            FIRST_COUNT,
        ),
        (
            "dhat_json_call_sites::common::allocate_second",
            SECOND_SIZE,
            SECOND_COUNT,
        ),
    ] {
        let (tb, tbk, frames) = point_naming(&json, function);
        assert_eq!(
            (tb, tbk),
            (size as u64 * count, count),
            "{function}: {frames:#?}"
        );
        // dhat's frame string, `0x…: function (file:line:col)`, with its file named.
        let frame = frames
            .iter()
            .find(|frame| frame.contains(function))
            .unwrap();
        assert!(frame.starts_with("0x"), "{frame}");
        assert!(
            frame.contains(&format!(": {function} ("))
                && ["common/mod.rs:", "common\\mod.rs:"]
                    .iter()
                    .any(|file| frame.contains(file)),
            "{frame}"
        );
        // Its caller in this file is named below it.
        let at = frames.iter().position(|f| f == frame).unwrap();
        assert!(
            frames[at + 1..]
                .iter()
                .any(|f| f.contains("dhat_json_call_sites::")),
            "{frames:#?}"
        );
    }
    // Largest first, the order `call_sites().sorted_by_bytes()` gives: the second function's
    // site (3 × 4,321 bytes) before the first's (7 × 1,234).
    let position = |function: &str| {
        pps.iter()
            .position(|pp| {
                frames_of(&json, pp)
                    .iter()
                    .any(|frame| frame.contains(function))
            })
            .unwrap()
    };
    assert!(
        position("common::allocate_second") < position("common::allocate_first"),
        "{json:#}"
    );
    drop(profiler);
}

fn a_dhat_style_session_takes_precedence() {
    let profiler = Profiler::start();
    allocate_first();
    let path = temp_file("heap");
    {
        // Testing mode writes no file of its own when it stops.
        let _heap = dhat_compat::Profiler::builder().testing().build();
        allocate_second();
        GLOBAL.write_dhat_json(&path).unwrap();
        let json = read_json(&path);
        assert_eq!(json["mode"], "rust-heap");
        assert_eq!(json["bklt"], true);
    }
    // Once it stops, the native profiler's table is what gets written again.
    GLOBAL.write_dhat_json(&path).unwrap();
    assert_eq!(read_json(&path)["mode"], "mod-alloc-call-sites");
    drop(profiler);

    // And once that stops too, nothing runs.
    assert!(GLOBAL.write_dhat_json(&path).is_err());
    assert!(!path.exists());
}

fn main() {
    common::check(
        "without_a_profiler_it_fails_and_writes_nothing",
        without_a_profiler_it_fails_and_writes_nothing,
    );
    common::check(
        "the_native_profiler_s_call_sites_become_a_dhat_file",
        the_native_profiler_s_call_sites_become_a_dhat_file,
    );
    common::check(
        "a_dhat_style_session_takes_precedence",
        a_dhat_style_session_takes_precedence,
    );
    common::finish(3);
}
