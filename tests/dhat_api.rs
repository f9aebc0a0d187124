//! The shape of the API: Debug output, sizes, auto traits, the builder, the memory output
//! and the on-demand JSON. One process: the checks run in order.
#![cfg(feature = "dhat-compat")]

use std::mem::ManuallyDrop;
use std::panic::{RefUnwindSafe, UnwindSafe};

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn auto_traits<T: Send + Sync + Unpin + UnwindSafe + RefUnwindSafe>() {}

#[test]
fn api_matches_dhat() {
    auto_traits::<dhat::Alloc>();
    auto_traits::<dhat::Profiler>();
    assert_eq!(std::mem::size_of::<dhat::Alloc>(), 0);
    assert_eq!(std::mem::size_of::<dhat::Profiler>(), 0);
    assert_eq!(format!("{:?}", dhat::Alloc), "Alloc");
    // Printing a literal `Profiler` drops a temporary while nothing runs: dhat panics.
    dhat::assert_is_panic(
        || format!("{:?}", dhat::Profiler),
        "internal error: entered unreachable code",
    );

    assert_eq!(
        format!("{:?}", dhat::Profiler::builder()),
        "ProfilerBuilder { ad_hoc: false, testing: false, file_name: None, trim_backtraces: Some(10), eprint_json: false }"
    );
    assert_eq!(
        format!(
            "{:?}",
            dhat::Profiler::builder().ad_hoc().testing().file_name("x/y.json").trim_backtraces(Some(2)).eprint_json()
        ),
        "ProfilerBuilder { ad_hoc: true, testing: true, file_name: Some(\"x/y.json\"), trim_backtraces: Some(4), eprint_json: true }"
    );
    for (given, stored) in [
        (Some(0), "Some(4)"),
        (Some(3), "Some(4)"),
        (Some(5), "Some(5)"),
        (None, "None"),
    ] {
        let text = format!("{:?}", dhat::Profiler::builder().trim_backtraces(given));
        assert!(
            text.contains(&format!("trim_backtraces: {stored},")),
            "{text}"
        );
    }
    let max = format!(
        "{:?}",
        dhat::Profiler::builder().trim_backtraces(Some(usize::MAX))
    );
    assert!(max.contains(&format!("Some({})", usize::MAX)));

    // Stats types: derives and field order.
    let profiler = dhat::Profiler::builder().testing().build();
    let stats = dhat::HeapStats::get();
    let copy = stats.clone();
    assert_eq!(stats, copy);
    let debug = format!("{stats:?}");
    let order = [
        "total_blocks",
        "total_bytes",
        "curr_blocks",
        "curr_bytes",
        "max_blocks",
        "max_bytes",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|f| debug.find(&format!("{f}: ")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{debug}");
    assert!(debug.starts_with("HeapStats { "));
    let _: (u64, u64, usize, usize, usize, usize) = (
        stats.total_blocks,
        stats.total_bytes,
        stats.curr_blocks,
        stats.curr_bytes,
        stats.max_blocks,
        stats.max_bytes,
    );

    // Beyond dhat: the profile so far, on demand, without stopping.
    let mut file_layout = Vec::new();
    profiler.write_json_to(&mut file_layout).unwrap();
    let file_layout = String::from_utf8(file_layout).unwrap();
    assert!(file_layout.starts_with("{\n\"dhatFileVersion\": 2,\n\"mode\": \"rust-heap\",\n"));
    let pretty = profiler.json_string().unwrap();
    assert!(pretty.starts_with("{\n  \"dhatFileVersion\": 2,\n  \"mode\": \"rust-heap\",\n"));
    let parsed: serde_json::Value = serde_json::from_str(&pretty).unwrap();
    assert_eq!(parsed["ftbl"][0], "[root]");
    let _ = dhat::HeapStats::get(); // still running
    drop(profiler);

    {
        let ad_hoc = dhat::Profiler::builder().ad_hoc().testing().build();
        dhat::ad_hoc_event(1);
        let stats = dhat::AdHocStats::get();
        assert_eq!(
            format!("{stats:?}").split(':').next(),
            Some("AdHocStats { total_events")
        );
        let _: (u64, u64) = (stats.total_events, stats.total_units);
        let json: serde_json::Value = serde_json::from_str(&ad_hoc.json_string().unwrap()).unwrap();
        assert_eq!(json["mode"], "rust-ad-hoc");
        assert!(json.get("tg").is_none());
    }

    // Memory output: two-space JSON, state back to Ready, a second call panics.
    let mut profiler = ManuallyDrop::new(dhat::Profiler::builder().build());
    let json = profiler.drop_and_get_memory_output();
    assert!(json.starts_with("{\n  \"dhatFileVersion\": 2,"), "{json}");
    assert!(!json.ends_with('\n'));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["mode"], "rust-heap");
    assert_eq!(value["tuth"], 10);
    assert!(value["cmd"].as_str().unwrap().contains("dhat_api"));
    assert_eq!(value["pid"], std::process::id());
    assert!(value["te"].as_u64().unwrap() >= value["tg"].as_u64().unwrap());
    dhat::assert_is_panic(
        dhat::HeapStats::get,
        "dhat: getting heap stats when no profiler is running",
    );
    dhat::assert_is_panic(
        std::panic::AssertUnwindSafe(|| profiler.drop_and_get_memory_output()),
        "internal error: entered unreachable code",
    );

    // Testing mode: the memory output is empty.
    let mut profiler = ManuallyDrop::new(dhat::Profiler::builder().testing().build());
    assert_eq!(profiler.drop_and_get_memory_output(), "");

    // On-demand output with no profiler running is an error, not a panic; the literal
    // profiler used to ask must then be forgotten (dropping it would panic, as in dhat).
    let literal = ManuallyDrop::new(dhat::Profiler);
    assert!(literal.json_string().is_err());
    assert!(literal.write_json_to(Vec::new()).is_err());
}
