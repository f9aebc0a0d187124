//! Tests of the DHAT document: trimming, frame strings, merging, key order and layout, on
//! hand-built profiles and a fake resolver.

use std::collections::HashMap;

use super::dhat::{
    build_call_site_document, build_document, frame_string, is_allocator_symbol,
    name_allocator_frames, shim_is_a_frame, write_document, Symbol, Unresolved,
    FALLBACK_ALLOCATOR_FRAMES,
};
use super::json::Layout;
use super::{document_string, DhatDocument, Resolve};
use crate::callsite::{CallSite, CallSiteReport};
use crate::heap::{AdHocTotals, AllocatorFrames, HeapTotals, Mode, Profile, ProgramPoint};

fn symbol(function: &str, file: &str, line: u32, column: u32) -> Symbol {
    Symbol {
        function: Some(function.to_owned()),
        file: Some(file.to_owned()),
        line: Some(line),
        column: Some(column),
    }
}

fn point(frames: &[usize], bytes: u64, blocks: u64) -> ProgramPoint {
    ProgramPoint {
        frames: frames.to_vec(),
        total_bytes: bytes,
        total_blocks: blocks,
        ..ProgramPoint::default()
    }
}

fn profile(mode: Mode, points: Vec<ProgramPoint>) -> Profile {
    Profile {
        mode,
        heap: HeapTotals::default(),
        ad_hoc: AdHocTotals::default(),
        program_points: points,
        t_gmax_us: if mode == Mode::Heap { Some(44) } else { None },
        t_end_us: 157,
        start_frames: Vec::new(),
        first_event_frames: Vec::new(),
        start_tail: Vec::new(),
        first_event_tail: Vec::new(),
        max_frames: Some(10),
        allocator_path: Vec::new(),
        zeroed_path: Vec::new(),
        allocator_frames: None,
    }
}

/// A symbol table keyed by address; unknown addresses have no symbols.
fn table(entries: Vec<(usize, Vec<Symbol>)>) -> impl FnMut(usize, &mut Vec<Symbol>) {
    let map: HashMap<usize, Vec<Symbol>> = entries.into_iter().collect();
    move |address, out: &mut Vec<Symbol>| {
        if let Some(symbols) = map.get(&address) {
            out.extend(symbols.iter().cloned());
        }
    }
}

#[test]
fn frame_strings_use_dhat_format_and_placeholders() {
    let full = symbol("heap1::make_vec", "/opt/u/proj/src/bin/heap1.rs", 5, 44);
    assert_eq!(
        frame_string(0x558f_8e9b_9561, &full),
        "0x558f8e9b9561: heap1::make_vec (src/bin/heap1.rs:5:44)"
    );
    assert_eq!(
        frame_string(0x10, &Symbol::default()),
        "0x10: ??? (???:0:0)"
    );
    let main_only = Symbol {
        function: Some("main".to_owned()),
        ..Symbol::default()
    };
    assert_eq!(frame_string(0xabc, &main_only), "0xabc: main (???:0:0)");
}

#[test]
fn inlined_symbols_each_get_an_entry_and_identical_strings_are_shared() {
    let mut resolver = table(vec![
        (
            0x100,
            vec![
                symbol(
                    "<alloc::alloc::Global as core::alloc::Allocator>::allocate",
                    "/r/library/alloc/src/alloc.rs",
                    429,
                    14,
                ),
                symbol(
                    "alloc::boxed::Box<T>::new",
                    "/r/library/alloc/src/boxed.rs",
                    286,
                    19,
                ),
                symbol("app::main", "/p/app/src/main.rs", 21, 50),
            ],
        ),
        (
            0x200,
            vec![symbol(
                "<alloc::alloc::Global as core::alloc::Allocator>::allocate",
                "/r/library/alloc/src/alloc.rs",
                429,
                14,
            )],
        ),
        (
            0x300,
            vec![symbol("app::helper", "/p/app/src/main.rs", 5, 9)],
        ),
        (
            0x400,
            vec![symbol("app::main", "/p/app/src/main.rs", 30, 5)],
        ),
    ]);
    let profile = profile(
        Mode::Heap,
        vec![
            point(&[0x100], 8, 1),
            point(&[0x200, 0x300, 0x400], 100, 1),
            point(&[0x200, 0x300], 7, 1),
        ],
    );
    let doc = build_document(&profile, &mut resolver, "app".to_owned(), 1);
    assert_eq!(doc.ftbl[0], "[root]");
    assert_eq!(doc.ftbl.len(), 1 + 3 + 3);
    assert_eq!(doc.pps[0].fs, vec![1, 2, 3]);
    assert_eq!(doc.pps[1].fs, vec![4, 5, 6]);
    assert_eq!(doc.pps[2].fs, vec![4, 5]);
    assert_eq!(
        doc.ftbl[1],
        "0x100: <alloc::alloc::Global as core::alloc::Allocator>::allocate (alloc/src/alloc.rs:429:14)"
    );
    assert_eq!(doc.ftbl[3], "0x100: app::main (app/src/main.rs:21:50)");
}

#[test]
fn heap_mode_keeps_exactly_one_allocator_frame_on_top() {
    let mut resolver = table(vec![
        (
            0x1,
            vec![symbol(
                "mod_alloc::heap::on_alloc",
                "/c/src/heap/mod.rs",
                1,
                1,
            )],
        ),
        (
            0x2,
            vec![symbol("__rustc::__rust_alloc", "/x/y/z.rs", 1, 1)],
        ),
        (
            0x3,
            vec![
                symbol("alloc::alloc::alloc", "/r/alloc/src/alloc.rs", 1, 1),
                symbol(
                    "<alloc::alloc::Global as core::alloc::Allocator>::allocate",
                    "/r/alloc/src/alloc.rs",
                    2,
                    2,
                ),
                symbol(
                    "alloc::raw_vec::RawVec<T>::allocate_in",
                    "/r/alloc/src/raw_vec.rs",
                    3,
                    3,
                ),
            ],
        ),
        (0x4, vec![symbol("app::main", "/p/app/src/main.rs", 9, 9)]),
    ]);
    let frames = [0x1, 0x2, 0x3, 0x4];
    let heap = build_document(
        &profile(Mode::Heap, vec![point(&frames, 1, 1)]),
        &mut resolver,
        String::new(),
        1,
    );
    let printed: Vec<&str> = heap.pps[0]
        .fs
        .iter()
        .map(|&i| heap.ftbl[i].as_str())
        .collect();
    assert_eq!(
        printed,
        [
            "0x3: <alloc::alloc::Global as core::alloc::Allocator>::allocate (alloc/src/alloc.rs:2:2)",
            "0x3: alloc::raw_vec::RawVec<T>::allocate_in (alloc/src/raw_vec.rs:3:3)",
            "0x4: app::main (app/src/main.rs:9:9)",
        ]
    );

    // Ad hoc mode (no entry symbol here) and trimming off keep every symbol.
    let ad_hoc = build_document(
        &profile(Mode::AdHoc, vec![point(&frames, 1, 1)]),
        &mut resolver,
        String::new(),
        1,
    );
    assert_eq!(ad_hoc.pps[0].fs.len(), 6);
    let mut untrimmed = profile(Mode::Heap, vec![point(&frames, 1, 1)]);
    untrimmed.max_frames = None;
    let untrimmed = build_document(&untrimmed, &mut resolver, String::new(), 1);
    assert_eq!(untrimmed.pps[0].fs.len(), 6);

    // No allocator symbol at all: nothing dropped.
    let user_only = build_document(
        &profile(Mode::Heap, vec![point(&[0x4], 1, 1)]),
        &mut resolver,
        String::new(),
        1,
    );
    assert_eq!(user_only.pps[0].fs.len(), 1);
}

#[test]
fn only_the_allocation_machinery_counts_as_allocator_frames() {
    let allocator = [
        "alloc::alloc::alloc",
        "<alloc::alloc::Global as core::alloc::Allocator>::allocate",
        "__rg_alloc",
        "__rust_alloc",
        "__rust_alloc_zeroed",
        "__rustc::__rust_alloc",
        "__rustc::__rust_alloc_zeroed",
        "__rustc::__rust_realloc",
        "__rustc::__rust_dealloc",
        "<mod_alloc::alloc::ModAlloc<std::alloc::System> as core::alloc::global::GlobalAlloc>::alloc",
        "<mod_alloc::dhat_compat::Alloc as core::alloc::global::GlobalAlloc>::realloc",
        "mod_alloc::alloc::record_alloc",
        "mod_alloc::thread_state::enter",
        "<mod_alloc::thread_state::Suspended as core::ops::drop::Drop>::drop",
        "mod_alloc::counters::add",
        "mod_alloc::walk::capture",
        "mod_alloc::sites::record",
        "mod_alloc::heap::on_alloc",
        "mod_alloc::sys::stack_top",
    ];
    // Each of these can sit below user code: they run user closures, or unwind through it.
    let not_allocator = [
        "mod_alloc::dhat_compat::assert_is_panic",
        "mod_alloc::dhat_compat::check_assert_condition",
        "<mod_alloc::dhat_compat::Profiler as core::ops::drop::Drop>::drop",
        "mod_alloc::profiler::measure_thread",
        "mod_alloc::sites::with_synthetic_frames::<u8, app::main::{closure#0}>",
        "mod_alloc::callsite::__with_synthetic_frames",
        "__rust_try",
        "__rust_try.llvm.18232968197285350763",
        "__rustc::rust_begin_unwind",
        "rust_begin_unwind",
        "__rustc::__rust_start_panic",
        "__rustc::rust_panic",
        "std::sys::backtrace::__rust_begin_short_backtrace",
        "std::sys::backtrace::__rust_end_short_backtrace",
        "__rust_alloc_error_handler",
        "alloc::vec::from_elem",
        "mod_alloc_extras::heap::grow",
        "app::alloc::make",
    ];
    for name in allocator {
        assert!(is_allocator_symbol(name), "{name}");
    }
    for name in not_allocator {
        assert!(!is_allocator_symbol(name), "{name}");
    }
}

#[test]
fn user_frames_above_closure_runners_and_unwinding_are_kept() {
    // `dhat::assert_is_panic(|| { let v = vec![0; 100]; ... })` in `app::run`, and the same
    // under `measure_thread`: dhat keeps everything from its allocator frame down.
    let frames_below = |runner: &str| {
        vec![
            (
                0x1,
                vec![symbol(
                    "__rustc::__rust_alloc",
                    "/r/alloc/src/alloc.rs",
                    1,
                    1,
                )],
            ),
            (
                0x2,
                vec![
                    symbol(
                        "<alloc::alloc::Global as core::alloc::Allocator>::allocate",
                        "/r/alloc/src/alloc.rs",
                        429,
                        14,
                    ),
                    symbol("alloc::vec::from_elem", "/r/alloc/src/vec/mod.rs", 3, 3),
                    symbol("app::run::{{closure}}", "/p/app/src/main.rs", 4, 4),
                    symbol(
                        "std::panicking::try::do_call",
                        "/r/std/src/panicking.rs",
                        5,
                        5,
                    ),
                ],
            ),
            (
                0x3,
                vec![symbol("__rust_try", "/r/std/src/panicking.rs", 6, 6)],
            ),
            (
                0x4,
                vec![
                    symbol("std::panic::catch_unwind", "/r/std/src/panic.rs", 7, 7),
                    symbol(runner, "/c/src/dhat_compat/mod.rs", 8, 8),
                ],
            ),
            (0x5, vec![symbol("app::run", "/p/app/src/main.rs", 9, 9)]),
        ]
    };
    for runner in [
        "mod_alloc::dhat_compat::assert_is_panic",
        "mod_alloc::dhat_compat::check_assert_condition",
        "mod_alloc::profiler::measure_thread",
    ] {
        let mut resolver = table(frames_below(runner));
        let doc = build_document(
            &profile(Mode::Heap, vec![point(&[0x1, 0x2, 0x3, 0x4, 0x5], 100, 1)]),
            &mut resolver,
            String::new(),
            1,
        );
        let names: Vec<&str> = doc.pps[0]
            .fs
            .iter()
            .map(|&i| doc.ftbl[i].split(": ").nth(1).unwrap())
            .map(|rest| rest.rsplit_once(" (").unwrap().0)
            .collect();
        assert_eq!(
            names,
            [
                "<alloc::alloc::Global as core::alloc::Allocator>::allocate",
                "alloc::vec::from_elem",
                "app::run::{{closure}}",
                "std::panicking::try::do_call",
                "__rust_try",
                "std::panic::catch_unwind",
                runner,
                "app::run",
            ],
            "{runner}"
        );
    }

    // The panic's payload box, allocated while unwinding from a closure: std's panic entry
    // points are not allocator frames, so the closure and its callers stay.
    let mut resolver = table(vec![
        (
            0x1,
            vec![
                symbol(
                    "<alloc::alloc::Global as core::alloc::Allocator>::allocate",
                    "/r/alloc/src/alloc.rs",
                    429,
                    14,
                ),
                symbol(
                    "alloc::boxed::box_new_uninit",
                    "/r/alloc/src/boxed.rs",
                    2,
                    2,
                ),
            ],
        ),
        (
            0x2,
            vec![symbol(
                "__rustc::__rust_start_panic",
                "/r/panic_unwind/src/lib.rs",
                3,
                3,
            )],
        ),
        (
            0x3,
            vec![symbol(
                "__rustc::rust_begin_unwind",
                "/r/std/src/panicking.rs",
                4,
                4,
            )],
        ),
        (
            0x4,
            vec![
                symbol(
                    "core::panicking::panic_fmt",
                    "/r/core/src/panicking.rs",
                    5,
                    5,
                ),
                symbol("app::run::{{closure}}", "/p/app/src/main.rs", 6, 6),
            ],
        ),
        (0x5, vec![symbol("__rust_try.llvm.42", "???", 0, 0)]),
        (0x6, vec![symbol("app::run", "/p/app/src/main.rs", 7, 7)]),
    ]);
    let doc = build_document(
        &profile(
            Mode::Heap,
            vec![point(&[0x1, 0x2, 0x3, 0x4, 0x5, 0x6], 16, 1)],
        ),
        &mut resolver,
        String::new(),
        1,
    );
    assert_eq!(doc.pps[0].fs.len(), 8);
    assert_eq!(
        doc.ftbl[1],
        "0x1: <alloc::alloc::Global as core::alloc::Allocator>::allocate (alloc/src/alloc.rs:429:14)"
    );
    assert_eq!(doc.ftbl[8], "0x6: app::run (app/src/main.rs:7:7)");
}

#[test]
fn ad_hoc_mode_starts_at_the_ad_hoc_event_frame() {
    let mut resolver = table(vec![
        (
            0x1,
            vec![
                symbol("mod_alloc::walk::capture", "/c/src/walk/mod.rs", 1, 1),
                symbol("mod_alloc::heap::ad_hoc_event", "/c/src/heap/mod.rs", 2, 2),
            ],
        ),
        (
            0x2,
            vec![symbol(
                "mod_alloc::dhat_compat::ad_hoc_event",
                "/c/src/dhat_compat/mod.rs",
                3,
                3,
            )],
        ),
        (0x3, vec![symbol("app::f1", "/p/app/src/main.rs", 4, 4)]),
    ]);
    let doc = build_document(
        &profile(Mode::AdHoc, vec![point(&[0x1, 0x2, 0x3], 5, 1)]),
        &mut resolver,
        String::new(),
        1,
    );
    assert_eq!(
        doc.ftbl[1..],
        [
            "0x2: mod_alloc::dhat_compat::ad_hoc_event (src/dhat_compat/mod.rs:3:3)",
            "0x3: app::f1 (app/src/main.rs:4:4)"
        ]
    );
}

#[test]
fn frames_without_symbols_print_nothing() {
    let mut resolver = table(vec![(0x4, vec![symbol("app::main", "/p/a/b/c.rs", 1, 2)])]);
    let doc = build_document(
        &profile(Mode::Heap, vec![point(&[0x99, 0x4, 0x98], 1, 1)]),
        &mut resolver,
        String::new(),
        1,
    );
    assert_eq!(doc.ftbl, ["[root]", "0x4: app::main (a/b/c.rs:1:2)"]);
    assert_eq!(doc.pps[0].fs, [1]);
}

#[test]
fn only_an_unoptimised_shim_is_a_frame_of_its_own() {
    assert!(shim_is_a_frame("0"));
    for level in ["1", "2", "3", "s", "z", "", "00"] {
        assert!(!shim_is_a_frame(level), "{level:?}");
    }
    // This build's own opt level decides the fallback.
    let unoptimised = env!("MOD_ALLOC_OPT_LEVEL") == "0";
    assert_eq!(FALLBACK_ALLOCATOR_FRAMES, if unoptimised { 2 } else { 1 });
}

/// Frames a heap program point of 8 recursive frames keeps under `Some(4)`, when the
/// calibrated allocation path is `path`: each address with the name of its function
/// (`None`: unnamed).
fn kept_under_a_cap_of_4(path: &[(usize, Option<&str>)]) -> usize {
    let mut p = profile(Mode::Heap, vec![point(&[0x12; 8], 8, 1)]);
    p.max_frames = Some(4);
    p.allocator_path = path.iter().map(|&(address, _)| address).collect();
    let names: HashMap<usize, Option<String>> = path
        .iter()
        .map(|&(address, name)| (address, name.map(str::to_owned)))
        .collect();
    let mut resolver = |address: usize, out: &mut Vec<Symbol>| {
        let function = match address {
            0x12 => Some("app::recurse".to_owned()),
            _ => names.get(&address).cloned().flatten(),
        };
        out.push(Symbol {
            function,
            ..Symbol::default()
        });
    };
    recursion_frames(&build_document(&p, &mut resolver, String::new(), 1))
}

/// How many frames of the first point of `doc` are the recursion's, `app::recurse`.
fn recursion_frames(doc: &DhatDocument) -> usize {
    let fs = &doc.pps[0].fs;
    fs.iter()
        .filter(|&&index| doc.ftbl[index].contains("app::recurse"))
        .count()
}

#[test]
fn the_cap_leaves_room_for_the_allocator_frames_dhat_would_have() {
    let method = (
        0xa1,
        Some("<mod_alloc::alloc::ModAlloc as core::alloc::global::GlobalAlloc>::alloc"),
    );
    let compat = (
        0xa2,
        Some("<mod_alloc::dhat_compat::Alloc as core::alloc::global::GlobalAlloc>::alloc"),
    );
    // An optimised shim tail-jumps: dhat keeps its method alone, whatever ours looks like.
    assert_eq!(kept_under_a_cap_of_4(&[method]), 3);
    assert_eq!(kept_under_a_cap_of_4(&[method, compat]), 3);
    // An optimised shim that inlined our method is the one frame.
    assert_eq!(
        kept_under_a_cap_of_4(&[(0xa3, Some("__rustc::__rust_alloc"))]),
        3
    );
    // An unoptimised shim keeps a frame of its own, in both crates, whatever optimised ours.
    for shim in ["__rustc::__rust_alloc", "__rust_alloc"] {
        assert_eq!(
            kept_under_a_cap_of_4(&[method, (0xa3, Some(shim))]),
            2,
            "{shim}"
        );
        assert_eq!(
            kept_under_a_cap_of_4(&[method, compat, (0xa3, Some(shim))]),
            2
        );
    }
    // Past the shim: the `alloc::alloc::alloc` that an unoptimised probe keeps as a frame.
    let std_alloc = (0xa8, Some("alloc::alloc::alloc"));
    let shim = (0xa3, Some("__rustc::__rust_alloc"));
    assert_eq!(kept_under_a_cap_of_4(&[method, shim, std_alloc]), 2);
    // Older compilers: `__rust_alloc` calls the `__rg_alloc` of the allocator's crate.
    let rg = (0xa4, Some("__rg_alloc"));
    assert_eq!(
        kept_under_a_cap_of_4(&[method, rg, (0xa5, Some("__rust_alloc"))]),
        1
    );
    // A `GlobalAlloc` of the program's own around ours: its method is a frame in dhat's
    // stacks too, whether our method was inlined into it or not.
    let wrapper = (
        0xa6,
        Some("<app::Counting as core::alloc::global::GlobalAlloc>::alloc"),
    );
    assert_eq!(kept_under_a_cap_of_4(&[method, compat, wrapper]), 2);
    assert_eq!(kept_under_a_cap_of_4(&[wrapper]), 2);
    assert_eq!(kept_under_a_cap_of_4(&[wrapper, shim]), 1);
    assert_eq!(
        kept_under_a_cap_of_4(&[method, wrapper, shim, std_alloc]),
        1
    );
    // Names that merely contain a shim's are not shims: innermost, this is a wrapper.
    let lookalike = (0xa9, Some("app::__rust_alloc_wrapper"));
    assert_eq!(kept_under_a_cap_of_4(&[lookalike]), 2);
    // A frame that cannot be named, or nothing known: this build's opt level.
    let fallback = 4 - FALLBACK_ALLOCATOR_FRAMES;
    assert_eq!(kept_under_a_cap_of_4(&[method, (0xa7, None)]), fallback);
    assert_eq!(kept_under_a_cap_of_4(&[(0xa7, None), shim]), fallback);
    assert_eq!(kept_under_a_cap_of_4(&[std_alloc]), fallback);
    assert_eq!(kept_under_a_cap_of_4(&[]), fallback);
}

/// Debug information built with `debug = "line-tables-only"` names functions without their
/// paths; the symbol table names them in full, and the allocator's own frames are told apart
/// by that name.
#[test]
fn allocator_frames_are_named_by_the_symbol_table_first() {
    struct LineTablesOnly {
        symbol_table: bool,
    }
    impl Resolve for LineTablesOnly {
        fn resolve(&mut self, address: usize, out: &mut Vec<Symbol>) {
            let function = if matches!(address, 0xa1 | 0xa2) {
                "alloc"
            } else {
                "app::recurse"
            };
            out.push(Symbol {
                function: Some(function.to_owned()),
                ..Symbol::default()
            });
        }
        fn symbol_table_name(&mut self, address: usize) -> Option<String> {
            let name = match address {
                0xa1 => "<mod_alloc::alloc::ModAlloc as core::alloc::global::GlobalAlloc>::alloc",
                0xa2 => {
                    "<mod_alloc::dhat_compat::Alloc as core::alloc::global::GlobalAlloc>::alloc"
                }
                _ => return None,
            };
            self.symbol_table.then(|| name.to_owned())
        }
    }
    let mut p = profile(Mode::Heap, vec![point(&[0x12; 8], 8, 1)]);
    p.max_frames = Some(4);
    p.allocator_path = vec![0xa1, 0xa2];
    let kept = |p: &Profile, symbol_table: bool| {
        recursion_frames(&build_document(
            p,
            &mut LineTablesOnly { symbol_table },
            String::new(),
            1,
        ))
    };
    // As with full names: both frames stand for dhat's one method.
    assert_eq!(kept(&p, true), 3);
    // Without a symbol table the bare names read as the program's own frames.
    assert_eq!(kept(&p, false), 1);
}

#[test]
fn the_bottoms_of_stacks_deeper_than_a_capture_come_from_their_tails() {
    // A stack 100 frames deep at 0x10/0x12, then main (0x51) and the runtime (0x60, 0x70):
    // a capture holds its innermost 64 frames, its tail the outermost 8.
    let deep = |top: usize, main: usize| -> Vec<usize> {
        let mut frames = vec![top];
        frames.extend(core::iter::repeat(top + 2).take(99));
        frames.extend([main, 0x60, 0x70]);
        frames
    };
    let kept = |p: &Profile| {
        build_document(p, &mut Unresolved, String::new(), 1).pps[0]
            .fs
            .len()
    };
    let mut p = profile(Mode::Heap, vec![point(&[0x20, 0x52, 0x60, 0x70], 8, 1)]);
    p.start_frames = vec![0x50, 0x60, 0x70];
    let first = deep(0x10, 0x51);
    p.first_event_frames = first[..64].to_vec();
    p.first_event_tail = first[first.len() - 8..].to_vec();
    assert_eq!(kept(&p), 2, "the runtime below main is cut");
    p.first_event_tail.clear();
    assert_eq!(kept(&p), 4, "without the tail the join is not found");

    // The same with the start stack the deep one.
    let start = deep(0x30, 0x53);
    p.start_frames = start[..64].to_vec();
    p.start_tail = start[start.len() - 8..].to_vec();
    p.first_event_frames = vec![0x10, 0x51, 0x60, 0x70];
    assert_eq!(kept(&p), 2);

    // A tail that is all runtime joins the other stack at its first frame; that is not the
    // whole stack (it has frames above its tail), so the trim stands.
    p.start_tail = vec![0x60, 0x70];
    assert_eq!(kept(&p), 2);
    p.start_tail.clear();
    p.start_frames = vec![0x60, 0x70];
    assert_eq!(
        kept(&p),
        4,
        "a whole stack that is all runtime: dhat gives up the trim"
    );
}

#[test]
fn bottom_frames_shared_with_the_start_stack_are_cut_and_the_cap_applies() {
    // Start stack: build() called from main at 0x50; below main the runtime 0x60, 0x70.
    // First event: allocation in f (0x10) called from main at 0x51.
    let mut p = profile(
        Mode::Heap,
        vec![
            point(&[0x10, 0x51, 0x60, 0x70], 8, 1),
            // Another thread: its bottom frames are not the main thread's, so nothing is cut
            // (two frames stay within the cap in every build).
            point(&[0x11, 0x80], 8, 1),
            // Deep recursion on the main thread: the cap stops it.
            point(&[0x12, 0x12, 0x12, 0x12, 0x12, 0x13, 0x60, 0x70], 8, 1),
        ],
    );
    p.start_frames = vec![0x50, 0x60, 0x70];
    p.first_event_frames = vec![0x10, 0x51, 0x60, 0x70];
    p.max_frames = Some(4);
    let mut resolver = Unresolved;
    let doc = build_document(&p, &mut resolver, String::new(), 1);
    let addresses = |pp: usize| -> Vec<String> {
        doc.pps[pp]
            .fs
            .iter()
            .map(|&i| doc.ftbl[i].split(':').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(addresses(0), ["0x10", "0x51"]);
    assert_eq!(addresses(1), ["0x11", "0x80"]);
    // Heap mode: dhat's cap of 4 counts its allocator's frames (its method, and in an
    // unoptimised build the shim), which ours never captures. With no allocation path
    // known, this build's opt level tells how many.
    assert_eq!(addresses(2), vec!["0x12"; 4 - FALLBACK_ALLOCATOR_FRAMES]);

    // The first event's stack may be cut short by the capture depth: the join still counts.
    p.first_event_frames = vec![0x10, 0x51, 0x60];
    let doc = build_document(&p, &mut resolver, String::new(), 1);
    assert_eq!(doc.pps[0].fs.len(), 2);

    // With trimming off, nothing is cut.
    p.max_frames = None;
    let doc = build_document(&p, &mut resolver, String::new(), 1);
    assert_eq!(doc.pps[0].fs.len(), 4);
    assert_eq!(doc.pps[2].fs.len(), 8);

    // A common suffix covering a whole stack is abandoned, as in dhat.
    p.max_frames = Some(10);
    p.start_frames = vec![0x60, 0x70];
    p.first_event_frames = vec![0x60, 0x70];
    let doc = build_document(&p, &mut resolver, String::new(), 1);
    assert_eq!(doc.pps[0].fs.len(), 4);
    // Also when it is the whole of the first event's stack only.
    p.start_frames = vec![0x50, 0x60, 0x70];
    let doc = build_document(&p, &mut resolver, String::new(), 1);
    assert_eq!(doc.pps[0].fs.len(), 4);
}

#[test]
fn identical_printed_frame_lists_are_merged() {
    // Two raw frame lists that differ only in a frame without symbols print identically
    // (as do lists that differ only above the kept allocator frame): one entry, summed.
    let mut resolver = table(vec![(0x4, vec![symbol("app::main", "/a.rs", 1, 1)])]);
    let mut a = point(&[0x90, 0x4], 8, 1);
    a.lifetimes_us = 3;
    (a.max_bytes, a.max_blocks) = (8, 1);
    (a.at_gmax_bytes, a.at_gmax_blocks) = (8, 1);
    let mut b = point(&[0x91, 0x4], 16, 2);
    b.lifetimes_us = 4;
    (b.max_bytes, b.max_blocks) = (12, 1);
    (b.at_gmax_bytes, b.at_gmax_blocks) = (8, 1);
    (b.at_end_bytes, b.at_end_blocks) = (8, 1);
    let c = point(&[0x4, 0x4], 5, 1);
    let doc = build_document(
        &profile(Mode::Heap, vec![a, b, c]),
        &mut resolver,
        String::new(),
        1,
    );
    assert_eq!(doc.pps.len(), 2);
    let merged = &doc.pps[0];
    assert_eq!((merged.tb, merged.tbk, merged.tl), (24, 3, 7));
    assert_eq!(
        (merged.gb, merged.gbk, merged.eb, merged.ebk),
        (16, 2, 8, 1)
    );
    // mb = max(max mb = 12, Σgb = 16, Σeb = 8) with its block count.
    assert_eq!((merged.mb, merged.mbk), (16, 2));
    assert!(merged.gb <= merged.mb && merged.eb <= merged.mb);
    assert_eq!(doc.pps[1].fs, [1, 1]);
}

#[test]
fn a_merged_peak_is_the_largest_part_peak_or_sum_at_the_peak_or_at_the_end() {
    // Each pair prints alike (the first frames have no symbols), so each merges into one.
    let mut resolver = table(vec![
        (0x4, vec![symbol("app::main", "/a.rs", 1, 1)]),
        (0x5, vec![symbol("app::other", "/b.rs", 2, 1)]),
    ]);
    // One part's own peak is above everything summed: it is the merged peak.
    let mut a = point(&[0x90, 0x4], 40, 2);
    (a.max_bytes, a.max_blocks) = (30, 1);
    (a.at_gmax_bytes, a.at_gmax_blocks) = (8, 1);
    let mut b = point(&[0x91, 0x4], 16, 2);
    (b.max_bytes, b.max_blocks) = (12, 2);
    (b.at_gmax_bytes, b.at_gmax_blocks) = (8, 1);
    // Σeb is above each part's peak and Σgb: it is the merged peak.
    let mut c = point(&[0x92, 0x5], 10, 1);
    (c.max_bytes, c.max_blocks) = (10, 1);
    (c.at_end_bytes, c.at_end_blocks) = (10, 1);
    let d = ProgramPoint {
        frames: vec![0x93, 0x5],
        ..c.clone()
    };
    let doc = build_document(
        &profile(Mode::Heap, vec![a, b, c, d]),
        &mut resolver,
        String::new(),
        1,
    );
    assert_eq!(doc.pps.len(), 2);
    let peaks: Vec<_> = doc.pps.iter().map(|pp| (pp.mb, pp.mbk)).collect();
    assert_eq!(peaks, [(30, 1), (20, 2)]);
    assert_eq!((doc.pps[0].gb, doc.pps[1].eb), (16, 20));
}

/// A small heap document, built by hand and checked against literal text.
fn small_heap_document() -> super::DhatDocument {
    let mut resolver = table(vec![(
        0x4,
        vec![symbol("app::main", "/p/app/src/main.rs", 3, 7)],
    )]);
    let mut pp = point(&[0x4], 100, 2);
    pp.lifetimes_us = 27;
    (
        pp.max_bytes,
        pp.max_blocks,
        pp.at_gmax_bytes,
        pp.at_gmax_blocks,
    ) = (60, 1, 60, 1);
    (pp.at_end_bytes, pp.at_end_blocks) = (40, 1);
    build_document(
        &profile(Mode::Heap, vec![pp]),
        &mut resolver,
        "app a\"b".to_owned(),
        42,
    )
}

#[test]
fn heap_file_layout_and_key_order_are_dhat_s() {
    let text = document_string(&small_heap_document(), Layout::File);
    let expected = "{\n\"dhatFileVersion\": 2,\n\"mode\": \"rust-heap\",\n\"verb\": \"Allocated\",\n\"bklt\": true,\n\"bkacc\": false,\n\"tu\": \"µs\",\n\"Mtu\": \"s\",\n\"tuth\": 10,\n\"cmd\": \"app a\\\"b\",\n\"pid\": 42,\n\"tg\": 44,\n\"te\": 157,\n\"pps\": [\n{\n\"tb\": 100,\n\"tbk\": 2,\n\"tl\": 27,\n\"mb\": 60,\n\"mbk\": 1,\n\"gb\": 60,\n\"gbk\": 1,\n\"eb\": 40,\n\"ebk\": 1,\n\"fs\": [\n1\n]\n}\n],\n\"ftbl\": [\n\"[root]\",\n\"0x4: app::main (app/src/main.rs:3:7)\"\n]\n}";
    assert_eq!(text, expected);
    assert!(
        text.as_bytes().windows(2).any(|w| w == [0xc2, 0xb5]),
        "tu is U+00B5"
    );

    // The pretty layout is the same document with two-space indentation, as serde_json
    // prints it (its sorted map does not matter: compare the re-indented file text).
    let pretty = document_string(&small_heap_document(), Layout::Pretty);
    let reindented: Vec<&str> = pretty.lines().map(str::trim_start).collect();
    assert_eq!(reindented.join("\n"), expected);
    let value: serde_json::Value = serde_json::from_str(&pretty).unwrap();
    assert!(pretty.contains("\n  \"pps\": [\n    {\n      \"tb\": 100,"));
    assert_eq!(
        value,
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    );
}

#[test]
fn ad_hoc_document_has_the_ad_hoc_keys_only() {
    let mut resolver = Unresolved;
    let p = profile(Mode::AdHoc, vec![point(&[0x1], 106, 4)]);
    let text = document_string(
        &build_document(&p, &mut resolver, "x".into(), 7),
        Layout::File,
    );
    let keys: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with('"') && line.contains("\": "))
        .map(|line| line.split('"').nth(1).unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "dhatFileVersion",
            "mode",
            "verb",
            "bklt",
            "bkacc",
            "bu",
            "bsu",
            "bksu",
            "tu",
            "Mtu",
            "cmd",
            "pid",
            "te",
            "pps",
            "tb",
            "tbk",
            "fs",
            "ftbl"
        ]
    );
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["mode"], "rust-ad-hoc");
    assert_eq!(value["bklt"], false);
    assert_eq!(value["pps"][0]["tb"], 106);
    assert_eq!(value["ftbl"][1], "0x1: ??? (???:0:0)");
}

fn site(frames: &[usize], bytes: u64, count: u64) -> CallSite {
    CallSite {
        frames: frames.to_vec(),
        count,
        bytes,
    }
}

/// A call-site report with `sites` and `unattributed` events that reached no site.
fn call_sites(sites: Vec<CallSite>, unattributed: u64) -> CallSiteReport {
    CallSiteReport {
        events: sites.iter().map(|site| site.count).sum::<u64>() + unattributed,
        unattributed_events: unattributed,
        zero_frame_events: unattributed,
        sites,
        ..CallSiteReport::default()
    }
}

#[test]
fn call_site_file_has_totals_only_keys_and_every_frame_of_each_site() {
    // 0x10 holds an inlined frame: both symbols get an entry, innermost first. Nothing is
    // trimmed, not even std's allocation layer on top of the site at 0x30.
    let mut resolver = table(vec![
        (
            0x10,
            vec![
                symbol("app::inner", "/p/app/src/lib.rs", 4, 9),
                symbol("app::outer", "/p/app/src/lib.rs", 12, 5),
            ],
        ),
        (0x20, vec![symbol("app::main", "/p/app/src/main.rs", 3, 7)]),
        (
            0x30,
            vec![symbol(
                "alloc::alloc::alloc",
                "/r/library/alloc/src/alloc.rs",
                99,
                9,
            )],
        ),
    ]);
    let report = call_sites(
        vec![site(&[0x10, 0x20], 300, 3), site(&[0x30, 0x20], 8, 1)],
        0,
    );
    let doc = build_call_site_document(&report, &mut resolver, "app a\"b".to_owned(), 42, 1_500);
    let text = document_string(&doc, Layout::File);
    let expected = "{\n\"dhatFileVersion\": 2,\n\"mode\": \"mod-alloc-call-sites\",\n\"verb\": \"Allocated\",\n\"bklt\": false,\n\"bkacc\": false,\n\"tu\": \"µs\",\n\"Mtu\": \"s\",\n\"cmd\": \"app a\\\"b\",\n\"pid\": 42,\n\"te\": 1500,\n\"pps\": [\n{\n\"tb\": 300,\n\"tbk\": 3,\n\"fs\": [\n1,\n2,\n3\n]\n},\n{\n\"tb\": 8,\n\"tbk\": 1,\n\"fs\": [\n4,\n3\n]\n}\n],\n\"ftbl\": [\n\"[root]\",\n\"0x10: app::inner (app/src/lib.rs:4:9)\",\n\"0x10: app::outer (app/src/lib.rs:12:5)\",\n\"0x20: app::main (app/src/main.rs:3:7)\",\n\"0x30: alloc::alloc::alloc (alloc/src/alloc.rs:99:9)\"\n]\n}";
    assert_eq!(text, expected);
    // No lifetimes (so no `tg`, `tuth` or per-point peaks) and no unit names: the viewer
    // says bytes and blocks.
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    for key in ["tg", "tuth", "bu", "bsu", "bksu"] {
        assert!(value.get(key).is_none(), "{key}");
    }
    assert!(value["pps"][0].get("tl").is_none() && value["pps"][0].get("mb").is_none());
}

#[test]
fn call_sites_that_print_alike_are_merged_and_unattributed_events_share_one_root_point() {
    // 0x91 and 0x92 have no symbols, so the first two sites print as the same frame list;
    // the third prints nothing at all, like the events that reached no site.
    let mut resolver = table(vec![(0x4, vec![symbol("app::main", "/a.rs", 1, 1)])]);
    let report = call_sites(
        vec![
            site(&[0x91, 0x4], 10, 1),
            site(&[0x92, 0x4], 20, 2),
            site(&[0x93], 5, 1),
            site(&[0x4, 0x4], 7, 1),
        ],
        6,
    );
    let doc = build_call_site_document(&report, &mut resolver, String::new(), 1, 0);
    let figures: Vec<(u64, u64, Vec<usize>)> = doc
        .pps
        .iter()
        .map(|pp| (pp.tb, pp.tbk, pp.fs.clone()))
        .collect();
    // The unattributed events add their blocks to the frameless site's point; their bytes
    // were never recorded.
    assert_eq!(
        figures,
        [(30, 3, vec![1]), (5, 7, vec![]), (7, 1, vec![1, 1])]
    );
    assert_eq!(doc.ftbl, ["[root]", "0x4: app::main (/a.rs:1:1)"]);
    let total_blocks: u64 = doc.pps.iter().map(|pp| pp.tbk).sum();
    assert_eq!(total_blocks, report.events);
}

#[test]
fn a_call_site_file_without_unattributed_events_has_no_empty_point() {
    let report = call_sites(vec![site(&[0x1], 16, 1)], 0);
    let doc = build_call_site_document(&report, &mut Unresolved, String::new(), 1, 0);
    assert_eq!(doc.pps.len(), 1);
    assert_eq!(doc.pps[0].fs, [1]);

    let only_unattributed = call_sites(Vec::new(), 4);
    let doc = build_call_site_document(&only_unattributed, &mut Unresolved, String::new(), 1, 0);
    assert_eq!(doc.pps.len(), 1);
    assert_eq!((doc.pps[0].tb, doc.pps[0].tbk), (0, 4));
    assert!(doc.pps[0].fs.is_empty());
    assert_eq!(doc.ftbl, ["[root]"]);

    let empty = build_call_site_document(
        &CallSiteReport::default(),
        &mut Unresolved,
        String::new(),
        1,
        0,
    );
    let text = document_string(&empty, Layout::File);
    assert!(
        text.ends_with("\"te\": 0,\n\"pps\": [],\n\"ftbl\": [\n\"[root]\"\n]\n}"),
        "{text}"
    );
}

#[test]
fn empty_heap_profile_matches_dhat_s_empty_file() {
    let mut p = profile(Mode::Heap, Vec::new());
    (p.t_gmax_us, p.t_end_us) = (Some(0), 0);
    let text = document_string(
        &build_document(&p, &mut Unresolved, "e".into(), 1),
        Layout::File,
    );
    assert!(
        text.ends_with("\"tg\": 0,\n\"te\": 0,\n\"pps\": [],\n\"ftbl\": [\n\"[root]\"\n]\n}"),
        "{text}"
    );
}

#[test]
fn the_global_peak_is_never_after_the_end() {
    let mut p = profile(Mode::Heap, Vec::new());
    (p.t_gmax_us, p.t_end_us) = (Some(35), 34);
    let doc = build_document(&p, &mut Unresolved, String::new(), 1);
    assert_eq!((doc.tg, doc.te), (34, 34));
    (p.t_gmax_us, p.t_end_us) = (Some(12), 34);
    let doc = build_document(&p, &mut Unresolved, String::new(), 1);
    assert_eq!((doc.tg, doc.te), (12, 34));
}

#[test]
fn awkward_strings_survive_a_round_trip() {
    let awkward = [
        "quote \" and backslash \\",
        "newline\nand\ttab\rand\u{1}\u{1f}\u{8}\u{c}",
        "non-ASCII µ ü 日本 🦀",
        "lossy \u{fffd} from a non-UTF-8 argument",
    ];
    let mut entries = Vec::new();
    let mut points = Vec::new();
    for (index, text) in awkward.iter().enumerate() {
        let address = 0x10 + index;
        entries.push((
            address,
            vec![symbol(text, &format!("/dir/{text}/f.rs"), 1, 1)],
        ));
        points.push(point(&[address], 1, 1));
    }
    let mut resolver = table(entries);
    let cmd = awkward.join(" ");
    let doc = build_document(&profile(Mode::Heap, points), &mut resolver, cmd.clone(), 1);
    for layout in [Layout::File, Layout::Pretty] {
        let bytes = write_document(&doc, layout, Vec::new()).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["cmd"], cmd.as_str());
        let ftbl: Vec<String> = serde_json::from_value(value["ftbl"].clone()).unwrap();
        assert_eq!(ftbl, doc.ftbl);
        // Exactly serde_json's escaping: its compact re-serialisation of each string is
        // a substring of our output.
        for frame in &doc.ftbl {
            let escaped = serde_json::to_string(frame).unwrap();
            assert!(
                String::from_utf8_lossy(&bytes).contains(&escaped),
                "{escaped}"
            );
        }
    }
}

#[test]
fn non_utf8_arguments_become_lossy_instead_of_panicking() {
    use std::ffi::OsString;
    let plain = vec![
        OsString::from("target/app"),
        OsString::from("a b"),
        OsString::from("µ"),
    ];
    assert_eq!(
        super::dhat::join_arguments(plain.into_iter()),
        "target/app a b µ"
    );
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        let args = vec![
            OsString::from("app"),
            OsString::from_vec(b"bad\xffarg".to_vec()),
        ];
        let cmd = super::dhat::join_arguments(args.into_iter());
        assert_eq!(cmd, "app bad\u{fffd}arg");
        let mut p = profile(Mode::Heap, Vec::new());
        p.t_end_us = 1;
        let text = document_string(&build_document(&p, &mut Unresolved, cmd, 1), Layout::File);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["cmd"], "app bad\u{fffd}arg");
    }
    #[cfg(windows)]
    {
        use std::os::windows::ffi::OsStringExt;
        let args = vec![OsString::from_wide(&[0x61, 0xd800, 0x62])];
        assert_eq!(super::dhat::join_arguments(args.into_iter()), "a\u{fffd}b");
    }
    assert!(!super::command_line().is_empty());
}

#[inline(never)]
fn a_function_with_a_findable_name() -> usize {
    std::hint::black_box(7)
}

#[test]
#[cfg_attr(miri, ignore = "reads the running binary through dl_iterate_phdr")]
fn the_default_resolver_names_this_binary_s_functions() {
    let address = a_function_with_a_findable_name as fn() -> usize as usize + 1;
    let mut p = profile(Mode::Heap, vec![point(&[address], 1, 1)]);
    p.max_frames = None;
    let doc = super::document_for(&p);
    assert_eq!(doc.ftbl.len(), 2, "{:?}", doc.ftbl);
    let frame = &doc.ftbl[1];
    assert!(frame.starts_with(&format!("{address:#x}: ")), "{frame}");
    assert!(
        frame.contains("a_function_with_a_findable_name (")
            && frame.contains("src/report/tests.rs:"),
        "{frame}"
    );
    assert_eq!(a_function_with_a_findable_name(), 7);
}

/// dhat's heap stacks start at its `GlobalAlloc` method, and where no `alloc::alloc` frame is
/// left below it nothing is trimmed: that method is shown first, then the frames between it
/// and the allocating code. Ours show this crate's method, then the same frames.
#[test]
fn a_stack_without_an_allocator_frame_starts_with_the_allocators_frames() {
    let method = "<mod_alloc::dhat_compat::Alloc as core::alloc::global::GlobalAlloc>::alloc";
    let mut resolver = table(vec![
        (
            0xa1,
            vec![
                symbol(
                    "<mod_alloc::alloc::ModAlloc as core::alloc::global::GlobalAlloc>::alloc",
                    "/p/mod-alloc/src/alloc.rs",
                    215,
                    9,
                ),
                symbol(method, "/p/mod-alloc/src/dhat_compat/mod.rs", 115, 18),
            ],
        ),
        (
            0x300,
            vec![symbol(
                "alloc::raw_vec::RawVecInner<A>::try_allocate_in",
                "/r/library/alloc/src/raw_vec/mod.rs",
                0,
                0,
            )],
        ),
        (
            0x310,
            vec![
                symbol(
                    "<alloc::alloc::Global as core::alloc::Allocator>::allocate",
                    "/r/library/alloc/src/alloc.rs",
                    429,
                    14,
                ),
                symbol("app::boxed", "/p/app/src/main.rs", 9, 5),
            ],
        ),
        (
            0x400,
            vec![symbol("app::main", "/p/app/src/main.rs", 30, 5)],
        ),
        (
            0xa3,
            vec![symbol("__rustc::__rust_alloc", "/p/app/src/main.rs", 3, 1)],
        ),
        (
            0xb1,
            vec![symbol(
                "core::alloc::global::GlobalAlloc::alloc_zeroed",
                "/r/library/core/src/alloc/global.rs",
                219,
                33,
            )],
        ),
        (
            0xb2,
            vec![symbol(
                "__rustc::__rust_alloc_zeroed",
                "/p/app/src/main.rs",
                3,
                1,
            )],
        ),
    ]);
    let mut p = profile(
        Mode::Heap,
        vec![
            point(&[0x300, 0x400], 8, 1),
            point(&[0x310, 0x400], 16, 1),
            point(&[], 24, 1),
            point(&[0xb1, 0xb2, 0x300, 0x400], 32, 1),
        ],
    );
    // Unoptimised: the shims and the default `alloc_zeroed` are frames of their own.
    p.allocator_path = vec![0xa1, 0xa3];
    p.zeroed_path = vec![0xa1, 0xb1, 0xb2];
    let doc = build_document(&p, &mut resolver, String::new(), 1);
    let texts = |index: usize| -> Vec<&str> {
        doc.pps[index]
            .fs
            .iter()
            .map(|&i| doc.ftbl[i].as_str())
            .collect()
    };
    // Only the method's physical function, as dhat shows its one frame.
    let shown_method = format!("0xa1: {method} (src/dhat_compat/mod.rs:115:18)");
    let allocating = [
        "0x300: alloc::raw_vec::RawVecInner<A>::try_allocate_in (src/raw_vec/mod.rs:0:0)",
        "0x400: app::main (app/src/main.rs:30:5)",
    ];
    let shim = "0xa3: __rustc::__rust_alloc (app/src/main.rs:3:1)";
    assert_eq!(
        texts(0),
        [&shown_method, shim, allocating[0], allocating[1]]
    );
    // A zeroed stack shows the default method's frames itself; its shim is not the top.
    assert_eq!(
        texts(3),
        [
            &shown_method,
            "0xb1: core::alloc::global::GlobalAlloc::alloc_zeroed (src/alloc/global.rs:219:33)",
            "0xb2: __rustc::__rust_alloc_zeroed (app/src/main.rs:3:1)",
            allocating[0],
            allocating[1],
        ]
    );
    // An `alloc::alloc` frame is kept on top instead; an empty stack stays empty.
    assert_eq!(
        texts(1)[0],
        "0x310: <alloc::alloc::Global as core::alloc::Allocator>::allocate (alloc/src/alloc.rs:429:14)"
    );
    assert!(doc.pps[2].fs.is_empty());
    // Untrimmed stacks are shown as they are.
    p.max_frames = None;
    let untrimmed = build_document(&p, &mut resolver, String::new(), 1);
    assert_eq!(untrimmed.pps[0].fs.len(), 2);
}

/// A zeroed allocation through `GlobalAlloc`'s default `alloc_zeroed` keeps the frames that
/// method leaves, which dhat's stacks hold too; it lacks only the frames it shares with the
/// plain path, so it keeps more frames than a plain stack by the plain path's own.
#[test]
fn zeroed_stacks_through_the_default_method_keep_the_frames_dhat_counts() {
    let names: HashMap<usize, &str> = [
        (
            0xa1,
            "<mod_alloc::dhat_compat::Alloc as core::alloc::global::GlobalAlloc>::alloc",
        ),
        (0xa3, "__rustc::__rust_alloc"),
        (0xa8, "alloc::alloc::alloc"),
        (0xb1, "core::alloc::global::GlobalAlloc::alloc_zeroed"),
        (0xb2, "__rustc::__rust_alloc_zeroed"),
        (0xb3, "alloc::alloc::alloc_zeroed"),
        (
            0xc1,
            "<mod_alloc::alloc::ModAlloc as core::alloc::global::GlobalAlloc>::alloc_zeroed",
        ),
        (0x12, "app::recurse"),
    ]
    .into_iter()
    .collect();
    let mut resolver = |address: usize, out: &mut Vec<Symbol>| {
        out.push(Symbol {
            function: names.get(&address).map(|&name| name.to_owned()),
            ..Symbol::default()
        });
    };
    let frames = |plain: &[usize], zeroed: &[usize], resolver: &mut dyn Resolve| {
        name_allocator_frames(plain, zeroed, resolver)
    };
    let named = |plain, zeroed_entry, zeroed_extra| AllocatorFrames {
        plain,
        zeroed_entry,
        zeroed_extra,
    };
    // Unoptimised: both shims and the default method are frames of their own.
    let debug = frames(
        &[0xa1, 0xa3, 0xa8],
        &[0xa1, 0xb1, 0xb2, 0xb3],
        &mut resolver,
    );
    assert_eq!(debug, named(2, 0xb1, 1));
    // Optimised: the plain shim jumps to `alloc`; the zeroed one calls it.
    let release = frames(&[0xa1], &[0xa1, 0xb2], &mut resolver);
    assert_eq!(release, named(1, 0xb2, 0));
    // `ModAlloc` has an `alloc_zeroed` of its own, whose frames the walk skips.
    let own = frames(&[0xa1, 0xa3], &[0xc1, 0xb2], &mut resolver);
    assert_eq!(own, named(2, 0, 0));
    assert_eq!(frames(&[0xa1], &[0xa1], &mut resolver), named(1, 0, 0));

    // Under Some(6), dhat keeps six frames from its method on: a plain unoptimised stack
    // keeps 4 of the program's, a zeroed one the default method, the shim and 3.
    let mut p = profile(
        Mode::Heap,
        vec![
            point(&[0x12; 8], 8, 1),
            point(&[0xb1, 0xb2, 0xb3, 0x12, 0x12, 0x12, 0x12, 0x12], 16, 1),
        ],
    );
    p.max_frames = Some(6);
    p.allocator_path = vec![0xa1, 0xa3, 0xa8];
    p.zeroed_path = vec![0xa1, 0xb1, 0xb2, 0xb3];
    let kept = |p: &Profile, resolver: &mut dyn Resolve| {
        let doc = build_document(p, resolver, String::new(), 1);
        let recursion = |pp: &super::dhat::DhatPp| {
            pp.fs
                .iter()
                .filter(|&&index| doc.ftbl[index].contains("app::recurse"))
                .count()
        };
        (recursion(&doc.pps[0]), recursion(&doc.pps[1]))
    };
    assert_eq!(kept(&p, &mut resolver), (4, 2));
    // The same, named at the session's start.
    p.allocator_frames = Some(debug);
    assert_eq!(kept(&p, &mut resolver), (4, 2));
    // Optimised, with the zeroed shim kept in front of the program's frames.
    p.program_points[1].frames = vec![0xb2, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12];
    p.allocator_frames = Some(release);
    assert_eq!(kept(&p, &mut resolver), (5, 4));
}
