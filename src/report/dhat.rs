//! From a [`Profile`] to DHAT's JSON: trimming, frame strings, merging, and the writer.
//! The native profiler's call sites take the same path from step 2 on, untrimmed
//! ([`build_call_site_document`]).
//!
//! The steps follow dhat 0.3.3's backtrace trimming and JSON output:
//!
//! 1. **Bottom and top trimming by address.** The frames common to the end of the stack
//!    captured at start and the stack of the first event are the runtime below `main`; a
//!    program point's frames stop at the first of them. Frames common to the *start* of both
//!    stacks are capture machinery and are skipped. Either kind is abandoned when it would
//!    cover a whole stack. Then the frame cap applies; in heap mode less the frames of dhat's
//!    own allocator (its method, and the allocator shim where that keeps a frame), which its
//!    cap counts and our capture never contains; in ad hoc mode both count the frame of
//!    `ad_hoc_event`. All of this only when trimming is on.
//! 2. **Symbols.** Each return address resolves to zero or more symbols, innermost inlined
//!    first, through a [`Resolve`] the caller supplies. An address with no symbols prints
//!    nothing. In heap mode with trimming on, everything above the last allocator symbol is
//!    dropped, so exactly one allocator frame stays on top. Allocator symbols are std's
//!    `alloc::alloc` layer, the allocator shims and this crate's allocator (dhat's
//!    `<dhat::Alloc as GlobalAlloc>`), never functions that can sit below user code, such as
//!    `dhat_compat::assert_is_panic`, which runs a closure. Ad hoc mode trims no symbols in
//!    dhat: its points start at `dhat::ad_hoc_event`. Ours start at the return address into
//!    `dhat_compat::ad_hoc_event`, which keeps its frame (its call is not a tail call), so it
//!    comes first the same way; anything above it would be capture machinery and is dropped.
//! 3. **Frame strings** read `0x…: function (file:line:col)`, with `???` and `0` for missing
//!    parts and paths cut to their last three components. Each distinct string gets one
//!    `ftbl` index, `[root]` being index 0.
//! 4. **Merging** (a deliberate divergence, dhat issue #29): program points whose `fs` lists
//!    come out identical are summed into one, because DHAT's viewer rejects a file with a
//!    repeated location. Sums are exact for every figure but the per-site peak; for that the
//!    merged `mb` is the largest of the parts' `mb`, `Σgb` and `Σeb`, which keeps `gb ≤ mb`
//!    and `eb ≤ mb` true (the exact combined peak was never recorded).

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use super::json::{Layout, PrettyWriter};
use super::text::trim_path;
use crate::callsite::CallSiteReport;
use crate::heap::{AllocatorFrames, Mode, Profile, ProgramPoint};

/// One symbol found at a return address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Symbol {
    /// Demangled name without the hash (rustc-demangle's `{:#}`), e.g. `alloc::vec::from_elem`.
    pub(crate) function: Option<String>,
    /// Source file as recorded in the debug info.
    pub(crate) file: Option<String>,
    pub(crate) line: Option<u32>,
    pub(crate) column: Option<u32>,
}

/// Turns a return address into its symbols, innermost inlined first. Appends nothing when
/// the address has no symbols at all. Implemented by the symbolizer; it runs at report time,
/// never on the allocation path.
pub(crate) trait Resolve {
    fn resolve(&mut self, address: usize, symbols: &mut Vec<Symbol>);

    /// The symbol table's name, with its full path, for the function `address` returns
    /// into; `None` when unknown. Only the allocator's own frames are looked up this way.
    fn symbol_table_name(&mut self, _address: usize) -> Option<String> {
        None
    }
}

/// A resolver that knows nothing: one empty symbol per address, so each frame prints as
/// `0x…: ??? (???:0:0)`, as the symbolizer's own unresolved frames do.
#[cfg(test)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Unresolved;

#[cfg(test)]
impl Resolve for Unresolved {
    fn resolve(&mut self, _address: usize, symbols: &mut Vec<Symbol>) {
        symbols.push(Symbol::default());
    }
}

impl<F: FnMut(usize, &mut Vec<Symbol>)> Resolve for F {
    fn resolve(&mut self, address: usize, symbols: &mut Vec<Symbol>) {
        self(address, symbols)
    }
}

/// dhat's frame string: `{ip:#x}: {function} ({trimmed file}:{line}:{column})`.
pub(crate) fn frame_string(address: usize, symbol: &Symbol) -> String {
    let file = match &symbol.file {
        Some(file) => trim_path(Path::new(file)).display().to_string(),
        None => "???".to_owned(),
    };
    format!(
        "{address:#x}: {} ({file}:{}:{})",
        symbol.function.as_deref().unwrap_or("???"),
        symbol.line.unwrap_or(0),
        symbol.column.unwrap_or(0),
    )
}

/// Whether a demangled name is allocation machinery, which sits above the code that
/// allocates: std's `alloc::alloc` layer, the allocator shims (`__rust_alloc` and its
/// siblings, plus the older `__rg_` names), and this crate's allocator, which takes the
/// place of dhat's `<dhat::Alloc as GlobalAlloc>`: the `GlobalAlloc` impls and the modules
/// of the allocation path, whose functions may be inlined into them.
///
/// Everything above the last match is dropped, so a name that can also sit *below* user
/// code must not match, or the user's frames above it would go: the crate's functions that
/// run user closures (`dhat_compat::assert_is_panic`, `profiler::measure_thread`), and
/// std's other `__rust`-named functions (`__rust_try`, `__rustc::rust_begin_unwind`).
pub(super) fn is_allocator_symbol(function: &str) -> bool {
    const STD_PREFIXES: [&str; 3] = ["alloc::alloc::", "<alloc::alloc::", "__rg_"];
    const SHIMS: [&str; 4] = [
        "__rust_alloc",
        "__rust_alloc_zeroed",
        "__rust_realloc",
        "__rust_dealloc",
    ];
    const ALLOCATOR_MODULES: [&str; 7] = [
        "alloc::",
        "thread_state::",
        "counters::",
        "walk::",
        "sites::",
        "heap::",
        "sys::",
    ];
    if STD_PREFIXES
        .iter()
        .any(|prefix| function.starts_with(prefix))
    {
        return true;
    }
    if SHIMS.contains(&function.strip_prefix("__rustc::").unwrap_or(function)) {
        return true;
    }
    if function.starts_with("<mod_alloc::dhat_compat::Alloc as ") {
        return true;
    }
    let Some(path) = function
        .strip_prefix("mod_alloc::")
        .or_else(|| function.strip_prefix("<mod_alloc::"))
    else {
        return false;
    };
    // The one function of those modules that runs a caller's closure (a test hook).
    if path.starts_with("sites::with_synthetic_frames") {
        return false;
    }
    ALLOCATOR_MODULES
        .iter()
        .any(|module| path.starts_with(module))
}

/// Whether a demangled name is this crate's `ad_hoc_event`, the frame dhat shows first in
/// ad hoc mode. The capture already starts there; frames above it could only be the
/// capture's own.
fn is_ad_hoc_entry(function: &str) -> bool {
    function == "mod_alloc::dhat_compat::ad_hoc_event"
}

/// One `pps` entry, after trimming and merging.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DhatPp {
    pub(crate) tb: u64,
    pub(crate) tbk: u64,
    pub(crate) tl: u128,
    pub(crate) mb: usize,
    pub(crate) mbk: usize,
    pub(crate) gb: usize,
    pub(crate) gbk: usize,
    pub(crate) eb: usize,
    pub(crate) ebk: usize,
    pub(crate) fs: Vec<usize>,
}

impl DhatPp {
    /// `pp`'s figures; `fs` is filled in by [`PointTable::add`].
    fn from_program_point(pp: &ProgramPoint) -> Self {
        DhatPp {
            tb: pp.total_bytes,
            tbk: pp.total_blocks,
            tl: pp.lifetimes_us,
            mb: pp.max_bytes,
            mbk: pp.max_blocks,
            gb: pp.at_gmax_bytes,
            gbk: pp.at_gmax_blocks,
            eb: pp.at_end_bytes,
            ebk: pp.at_end_blocks,
            fs: Vec::new(),
        }
    }

    /// Folds `other` (same printed frames) into `self`; see the module docs for `mb`.
    fn merge(&mut self, other: &DhatPp) {
        let (mb, mbk) = (self.mb, self.mbk).max((other.mb, other.mbk));
        self.tb = self.tb.saturating_add(other.tb);
        self.tbk = self.tbk.saturating_add(other.tbk);
        self.tl = self.tl.saturating_add(other.tl);
        self.gb = self.gb.saturating_add(other.gb);
        self.gbk = self.gbk.saturating_add(other.gbk);
        self.eb = self.eb.saturating_add(other.eb);
        self.ebk = self.ebk.saturating_add(other.ebk);
        (self.mb, self.mbk) = (mb, mbk).max((self.gb, self.gbk)).max((self.eb, self.ebk));
    }
}

/// What a DHAT file describes, which decides its header and the figures of each point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DocumentMode {
    /// A dhat-style heap session: dhat's `rust-heap` file, with lifetimes and peaks.
    Heap,
    /// A dhat-style ad hoc session: dhat's `rust-ad-hoc` file, in units and events.
    AdHoc,
    /// The call-site table of the native [`crate::Profiler`]: totals only (bytes and blocks
    /// per site), so the header has no lifetimes (`bklt: false`, no `tg` or `tuth`) and no
    /// unit names, and the viewer says bytes and blocks. Not a dhat mode: the viewer only
    /// displays `mode`, so it is named for what it is.
    CallSites,
}

impl DocumentMode {
    /// The `mode` string of the file.
    pub(crate) fn name(self) -> &'static str {
        match self {
            DocumentMode::Heap => "rust-heap",
            DocumentMode::AdHoc => "rust-ad-hoc",
            DocumentMode::CallSites => CALL_SITES_MODE,
        }
    }
}

impl From<Mode> for DocumentMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Heap => DocumentMode::Heap,
            Mode::AdHoc => DocumentMode::AdHoc,
        }
    }
}

/// The `mode` of a file written from the native profiler's call sites.
pub(crate) const CALL_SITES_MODE: &str = "mod-alloc-call-sites";

/// Everything in a DHAT file, resolved and ready to write in either layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DhatDocument {
    pub(crate) mode: DocumentMode,
    pub(crate) cmd: String,
    pub(crate) pid: u32,
    pub(crate) tg: u128,
    pub(crate) te: u128,
    pub(crate) pps: Vec<DhatPp>,
    pub(crate) ftbl: Vec<String>,
}

/// The command line as dhat's `cmd`: the arguments joined by single spaces. Arguments that
/// are not valid Unicode are converted lossily (dhat panics on them).
pub(crate) fn command_line() -> String {
    join_arguments(std::env::args_os())
}

pub(crate) fn join_arguments(args: impl Iterator<Item = std::ffi::OsString>) -> String {
    let args: Vec<String> = args.map(|arg| arg.to_string_lossy().into_owned()).collect();
    args.join(" ")
}

/// The frames below the point where the start stack and the first event's stack join: dhat's
/// common suffix, found so that it still works when the first event's stack was cut short
/// by the capture depth. It is the tail of `start` from the first frame that also occurs in
/// `first` with everything after it agreeing (as far as `first` goes). Empty when the join
/// would be a whole stack (dhat abandons that trim). A stack deeper than a capture holds is
/// compared by its outermost frames, which are not the whole stack.
fn common_bottom<'a>(start: StackBottom<'a>, first: StackBottom<'_>) -> &'a [usize] {
    let (start_frames, first_frames) = (start.frames, first.frames);
    for (i, ip) in start_frames.iter().enumerate() {
        let Some(j) = first_frames.iter().position(|other| other == ip) else {
            continue;
        };
        let agrees = start_frames[i..]
            .iter()
            .zip(&first_frames[j..])
            .all(|(a, b)| a == b);
        if agrees && start_frames.len() - i >= first_frames.len() - j {
            let whole_stack = (i == 0 && start.from_top) || (j == 0 && first.from_top);
            return if whole_stack { &[] } else { &start_frames[i..] };
        }
    }
    &[]
}

/// The frames of a stack that its bottom is read from: the whole capture (`from_top`), or,
/// for a stack deeper than that, its outermost frames.
#[derive(Clone, Copy)]
struct StackBottom<'a> {
    frames: &'a [usize],
    from_top: bool,
}

impl<'a> StackBottom<'a> {
    fn of(captured: &'a [usize], tail: &'a [usize]) -> Self {
        if tail.is_empty() {
            StackBottom {
                frames: captured,
                from_top: true,
            }
        } else {
            StackBottom {
                frames: tail,
                from_top: false,
            }
        }
    }
}

/// How many physical frames a dhat heap stack would hold on top of the frames ours keep, all
/// counted towards `trim_backtraces`: dhat's `GlobalAlloc` method, which is never inlined,
/// and every frame between it and the code that allocates. Those are the allocator shim
/// (`__rust_alloc`; `__rg_alloc` too on older compilers) when it keeps a frame of its own,
/// and the methods of a `GlobalAlloc` of the program's own that wraps the allocator. An
/// optimised shim reaches the method by a tail jump and leaves no frame; an unoptimised one
/// calls it.
///
/// The shim and any wrapper are compiled with the program, so it is the program's opt level
/// that counts, not this crate's, and a profile can set the two apart
/// (`[profile.dev.package."*"] opt-level = 3`). So the frames are counted on this build's
/// real allocation path, which the walker's calibration kept (`path`, innermost first, from
/// the allocator method that called the walk to the function that the allocating code
/// called). `dhat_compat::Alloc`'s methods are never inlined, as dhat's are not, so the
/// code around them (the shim, a wrapper) is shaped as it would be around dhat's:
///
/// - std's `alloc::alloc` functions at the outer end are the allocating code's side (an
///   unoptimised caller keeps them as frames of their own), and are left out;
/// - this crate's frames together stand for dhat's method;
/// - every other frame is one of dhat's too, except an innermost shim: that is an optimised
///   shim that inlined `ModAlloc`'s method (a program whose global allocator is `ModAlloc`
///   itself), where dhat's shim would have jumped to dhat's method.
///
/// The path is the one from code outside the program's crate, which calls the shim as a
/// function. Code inside it may have the shim, and a small wrapper, inlined instead; then
/// dhat's stacks there hold one frame less than this counts (see MIGRATING_FROM_DHAT.md).
///
/// When a frame of the path cannot be named (a stripped binary) or the path is unknown,
/// this crate's own opt level decides: [`FALLBACK_ALLOCATOR_FRAMES`].
pub(crate) fn dhat_allocator_frames(path: &[usize], resolver: &mut dyn Resolve) -> usize {
    count_allocator_frames(path, resolver).unwrap_or(FALLBACK_ALLOCATOR_FRAMES)
}

/// [`dhat_allocator_frames`], `None` when a frame of `path` cannot be named or `path` holds
/// no allocator frame.
fn count_allocator_frames(path: &[usize], resolver: &mut dyn Resolve) -> Option<usize> {
    allocator_frames_in(path, resolver).map(|frames| 1 + frames.others.len())
}

/// The frames of an allocation path (see [`dhat_allocator_frames`]) as dhat's stacks would
/// hold them.
struct PathFrames {
    /// The frame that stands for dhat's `GlobalAlloc` method: the outermost of this crate's,
    /// or an innermost shim that inlined `ModAlloc`'s method.
    method: usize,
    /// The allocator's other frames (a shim, a wrapper's method), innermost first.
    others: Vec<usize>,
}

/// Classifies `path`; `None` when a frame cannot be named or `path` holds no allocator frame.
fn allocator_frames_in(path: &[usize], resolver: &mut dyn Resolve) -> Option<PathFrames> {
    let mut symbols = Vec::new();
    let mut names = Vec::with_capacity(path.len());
    for &address in path {
        // The symbol table's name first: with `debug = "line-tables-only"` the debug
        // information names `<mod_alloc::…::Alloc as GlobalAlloc>::alloc` plain `alloc`, and
        // this crate's frames would count as frames of the program's.
        let name = resolver.symbol_table_name(address).or_else(|| {
            symbols.clear();
            resolver.resolve(address, &mut symbols);
            // The physical function is the outermost symbol, last in the list.
            symbols.pop().and_then(|symbol| symbol.function)
        });
        names.push(name?);
    }
    let callers_side = names
        .iter()
        .rev()
        .take_while(|name| name.starts_with("alloc::alloc::"))
        .count();
    let allocator = &names[..names.len() - callers_side];
    if allocator.is_empty() {
        return None;
    }
    // This crate's frames, and an innermost shim that inlined `ModAlloc`'s method, are the
    // one frame of dhat's method.
    let in_place_of_dhats_method =
        |depth: usize, name: &str| is_own_frame(name) || (depth == 0 && is_alloc_shim(name));
    let mut method = path[0];
    let mut others = Vec::new();
    for (depth, (&address, name)) in path.iter().zip(allocator).enumerate() {
        if in_place_of_dhats_method(depth, name) {
            method = address;
        } else {
            others.push(address);
        }
    }
    Some(PathFrames { method, others })
}

/// The frames dhat's allocator would put on top of each heap stack in this build, named from
/// the calibration's allocation paths (`walk::allocator_path` and
/// `walk::zeroed_allocator_path`, innermost first).
///
/// dhat's `Alloc` has no `alloc_zeroed` of its own, so a zeroed allocation runs
/// `GlobalAlloc`'s default method, which calls `alloc`. The method is compiled with the
/// program: optimised, it is inlined into the shim (`__rust_alloc_zeroed`), and with it into
/// callers in the program's crate; unoptimised, it is a frame of its own. Whatever frames it
/// leaves count towards dhat's cap. `dhat_compat::Alloc` has no `alloc_zeroed` either, so the
/// same frames sit above its `alloc`, and the walk keeps them. Such a stack lacks only the
/// frames the two paths share (this crate's, standing for dhat's method, and those of a
/// wrapper's `alloc`), and not the plain path's own: an unoptimised `__rust_alloc` shim. So it
/// keeps that many more frames than a plain one ([`AllocatorFrames::zeroed_extra`]).
pub(crate) fn name_allocator_frames(
    plain_path: &[usize],
    zeroed_path: &[usize],
    resolver: &mut dyn Resolve,
) -> AllocatorFrames {
    let plain = dhat_allocator_frames(plain_path, resolver);
    let shared = crate::walk::shared_prefix_len(plain_path, zeroed_path);
    if shared == 0 || shared == zeroed_path.len() {
        // The zeroed path has an entry of its own (`ModAlloc::alloc_zeroed`), whose frames the
        // walk skips, or is the plain one.
        return AllocatorFrames {
            plain,
            zeroed_entry: 0,
            zeroed_extra: 0,
        };
    }
    // Frames that cannot be named are taken for this crate's, which make one of dhat's.
    let above_zeroed = count_allocator_frames(&zeroed_path[..shared], resolver).unwrap_or(1);
    AllocatorFrames {
        plain,
        zeroed_entry: zeroed_path[shared],
        zeroed_extra: plain.saturating_sub(above_zeroed),
    }
}

/// Whether a demangled name is a function of this crate (or a method of one of its types).
fn is_own_frame(function: &str) -> bool {
    function.starts_with("mod_alloc::") || function.starts_with("<mod_alloc::")
}

/// Whether a demangled name is the allocator shim that `std::alloc::alloc` calls: plain
/// `__rust_alloc` or, from newer compilers, `__rustc::__rust_alloc`, and the `__rg_alloc`
/// that older compilers put behind it.
fn is_alloc_shim(function: &str) -> bool {
    let last = function.rsplit("::").next().unwrap_or(function);
    matches!(last, "__rust_alloc" | "__rg_alloc")
}

/// [`dhat_allocator_frames`] when the allocation path cannot be named: 2 in an unoptimised
/// build of this crate, whose shims then keep their frames, else 1.
pub(super) const FALLBACK_ALLOCATOR_FRAMES: usize = if shim_is_a_frame(env!("MOD_ALLOC_OPT_LEVEL"))
{
    2
} else {
    1
};

/// Whether the allocator shim keeps a frame of its own at this opt level: only unoptimised
/// code skips the tail call.
pub(super) const fn shim_is_a_frame(opt_level: &str) -> bool {
    matches!(opt_level.as_bytes(), b"0")
}

/// The trimming rules of one session, computed once from its start and first-event stacks.
struct FrameTrim {
    enabled: bool,
    top: Vec<usize>,
    bottom: Vec<usize>,
    /// For a plain stack; a zeroed one may keep more (see [`AllocatorFrames::extra_for`]).
    cap: usize,
    allocator_frames: AllocatorFrames,
}

impl FrameTrim {
    /// `allocator_frames`: see [`name_allocator_frames`].
    fn new(profile: &Profile, allocator_frames: AllocatorFrames) -> Self {
        let (start, first) = (&profile.start_frames, &profile.first_event_frames);
        let enabled = profile.max_frames.is_some();
        let top_len = crate::heap::shared_top_len(start, first);
        FrameTrim {
            enabled,
            top: first[..top_len].to_vec(),
            bottom: common_bottom(
                StackBottom::of(start, &profile.start_tail),
                StackBottom::of(first, &profile.first_event_tail),
            )
            .to_vec(),
            cap: match (profile.max_frames, profile.mode) {
                // Ours start at the caller of the allocator shim; dhat's count its own
                // allocator frames towards the cap.
                (Some(max), Mode::Heap) => max.saturating_sub(allocator_frames.plain),
                (Some(max), Mode::AdHoc) => max,
                (None, _) => usize::MAX,
            },
            allocator_frames,
        }
    }

    /// The physical frames of `frames` that a dhat walk would have kept.
    fn apply<'a>(&'a self, frames: &'a [usize]) -> impl Iterator<Item = usize> + 'a {
        let enabled = self.enabled;
        let cap = self
            .cap
            .saturating_add(self.allocator_frames.extra_for(frames));
        frames
            .iter()
            .copied()
            .filter(move |ip| !(enabled && self.top.contains(ip)))
            .take_while(move |ip| !(enabled && self.bottom.contains(ip)))
            .take(cap)
    }
}

/// What dhat shows above a heap stack in which nothing matched its trim: its allocator's
/// frames, as texts of a [`PointTable`] (see [`PointTable::show_allocator`]).
struct AllocatorShown {
    /// Above a plain stack.
    plain: Vec<usize>,
    /// Above a zeroed stack that starts with the frames of `GlobalAlloc`'s default
    /// `alloc_zeroed`.
    zeroed: Vec<usize>,
    /// Those frames' return addresses (`walk::zeroed_allocator_path` past what it shares with
    /// the plain path); empty if the allocator has an `alloc_zeroed` of its own.
    zeroed_frames: Vec<usize>,
}

/// The number of `text` in `texts`, added if new.
fn text_id(
    texts: &mut Vec<(String, Option<usize>)>,
    ids: &mut HashMap<String, usize>,
    text: String,
) -> usize {
    *ids.entry(text).or_insert_with_key(|text| {
        texts.push((text.clone(), None));
        texts.len() - 1
    })
}

/// The program points of a document as they are added: each frame list becomes an `fs` of
/// `ftbl` indices, and points whose printed frames come out identical are merged (step 4 of
/// the module docs). Used for heap and ad hoc profiles and for the native call sites alike.
struct PointTable<'r> {
    resolver: &'r mut dyn Resolve,
    /// The symbol kept on top: everything above its last match is dropped. `None` keeps
    /// every frame.
    top_symbol: Option<fn(&str) -> bool>,
    /// What is shown on top of a heap stack in which `top_symbol` matches nothing (see
    /// [`PointTable::show_allocator`]).
    allocator: Option<AllocatorShown>,
    ftbl: Vec<String>,
    // Each address is resolved and formatted once. Its frames (inlined ones first) become
    // distinct texts, numbered in `texts`; a text gets its `ftbl` index when a program point
    // first keeps it, so `ftbl` holds exactly the kept frames, in order of first use.
    texts: Vec<(String, Option<usize>)>,
    text_ids: HashMap<String, usize>,
    frames_at: HashMap<usize, Vec<(usize, bool)>>,
    symbols: Vec<Symbol>,
    pps: Vec<DhatPp>,
    pp_by_fs: HashMap<Vec<usize>, usize>,
    flattened: Vec<(usize, bool)>,
}

impl<'r> PointTable<'r> {
    fn new(resolver: &'r mut dyn Resolve, top_symbol: Option<fn(&str) -> bool>) -> Self {
        PointTable {
            resolver,
            top_symbol,
            allocator: None,
            ftbl: vec!["[root]".to_owned()],
            texts: Vec::new(),
            text_ids: HashMap::new(),
            frames_at: HashMap::new(),
            symbols: Vec::new(),
            pps: Vec::new(),
            pp_by_fs: HashMap::new(),
            flattened: Vec::new(),
        }
    }

    /// Shows the allocator's frames on top of every heap stack in which no frame matches the
    /// top symbol. dhat keys its heap stacks from its `GlobalAlloc` method on, so where the
    /// code that allocates shows no `alloc::alloc` frame (a call into the allocator that the
    /// debug information gives line 0, or code without debug information) nothing is
    /// trimmed: that method is the first frame, then the shims between. Ours are those of the
    /// calibration's paths (`walk::allocator_path`, `walk::zeroed_allocator_path`): this
    /// crate's method, by its physical function alone as dhat's is one frame, then the
    /// others in full. A zeroed stack that kept the frames of `GlobalAlloc`'s default
    /// `alloc_zeroed` shows them itself, and they never match the top symbol: dhat's names
    /// for its trim (`alloc::alloc::…`, `<dhat::Alloc`, `__rg_`) match none of them.
    fn show_allocator(&mut self, plain_path: &[usize], zeroed_path: &[usize]) {
        let Some(plain) = allocator_frames_in(plain_path, self.resolver) else {
            return;
        };
        let plain = self.allocator_texts(&plain);
        let shared = crate::walk::shared_prefix_len(plain_path, zeroed_path);
        let through_alloc = shared > 0 && shared < zeroed_path.len();
        let zeroed = match allocator_frames_in(&zeroed_path[..shared], self.resolver) {
            Some(frames) if through_alloc => self.allocator_texts(&frames),
            _ => Vec::new(),
        };
        self.allocator = Some(AllocatorShown {
            plain,
            zeroed,
            zeroed_frames: if through_alloc {
                zeroed_path[shared..].to_vec()
            } else {
                Vec::new()
            },
        });
    }

    /// The texts of `frames`, innermost first, for [`PointTable::show_allocator`].
    fn allocator_texts(&mut self, frames: &PathFrames) -> Vec<usize> {
        let mut ids = Vec::new();
        let mut symbols = Vec::new();
        self.resolver.resolve(frames.method, &mut symbols);
        if let Some(method) = symbols.last() {
            ids.push(text_id(
                &mut self.texts,
                &mut self.text_ids,
                frame_string(frames.method, method),
            ));
        }
        for &address in &frames.others {
            symbols.clear();
            self.resolver.resolve(address, &mut symbols);
            for symbol in &symbols {
                let text = frame_string(address, symbol);
                ids.push(text_id(&mut self.texts, &mut self.text_ids, text));
            }
        }
        ids
    }

    /// Adds `entry` at the return addresses `frames` (innermost first, already trimmed):
    /// resolves them, sets `entry.fs`, and merges it into an earlier point with the same
    /// `fs`, if any.
    fn add(&mut self, frames: impl Iterator<Item = usize>, mut entry: DhatPp) {
        let PointTable {
            resolver,
            top_symbol,
            allocator,
            ftbl,
            texts,
            text_ids,
            frames_at,
            symbols,
            pps,
            pp_by_fs,
            flattened,
        } = self;
        flattened.clear();
        // Leading frames of `GlobalAlloc`'s default `alloc_zeroed` (see `show_allocator`).
        let zeroed_frames = allocator.as_ref().map_or(&[][..], |a| &a.zeroed_frames[..]);
        let mut in_zeroed_frames = true;
        let mut zeroed = false;
        for address in frames {
            in_zeroed_frames = in_zeroed_frames && zeroed_frames.contains(&address);
            zeroed |= in_zeroed_frames;
            let frames = frames_at.entry(address).or_insert_with(|| {
                symbols.clear();
                resolver.resolve(address, symbols);
                symbols
                    .iter()
                    .map(|symbol| {
                        let id = text_id(texts, text_ids, frame_string(address, symbol));
                        let is_top = top_symbol
                            .is_some_and(|is_top| symbol.function.as_deref().is_some_and(is_top));
                        (id, is_top)
                    })
                    .collect()
            });
            if in_zeroed_frames {
                flattened.extend(frames.iter().map(|&(id, _)| (id, false)));
            } else {
                flattened.extend_from_slice(frames);
            }
        }
        let (first_kept, above) = match (flattened.iter().rposition(|&(_, top)| top), allocator) {
            (Some(top), _) => (top, &[][..]),
            (None, Some(shown)) if !flattened.is_empty() => (
                0,
                if zeroed {
                    &shown.zeroed[..]
                } else {
                    &shown.plain[..]
                },
            ),
            (None, _) => (0, &[][..]),
        };
        entry.fs = above
            .iter()
            .copied()
            .chain(flattened[first_kept..].iter().map(|&(id, _)| id))
            .map(|id| {
                let (text, index) = &mut texts[id];
                *index.get_or_insert_with(|| {
                    // Its index is cached from now on, so the text itself is not needed again.
                    ftbl.push(core::mem::take(text));
                    ftbl.len() - 1
                })
            })
            .collect();
        match pp_by_fs.get(&entry.fs) {
            Some(&index) => pps[index].merge(&entry),
            None => {
                pp_by_fs.insert(entry.fs.clone(), pps.len());
                pps.push(entry);
            }
        }
    }

    /// The merged points and the frame table.
    fn finish(self) -> (Vec<DhatPp>, Vec<String>) {
        (self.pps, self.ftbl)
    }
}

/// Resolves, trims and merges `profile` into a document. `cmd` and `pid` describe the
/// process (normally [`command_line`] and [`std::process::id`]).
pub(crate) fn build_document(
    profile: &Profile,
    resolver: &mut dyn Resolve,
    cmd: String,
    pid: u32,
) -> DhatDocument {
    let allocator_frames = match profile.mode {
        Mode::Heap if profile.max_frames.is_some() => {
            profile.allocator_frames.unwrap_or_else(|| {
                name_allocator_frames(&profile.allocator_path, &profile.zeroed_path, resolver)
            })
        }
        _ => AllocatorFrames::NONE,
    };
    let trim = FrameTrim::new(profile, allocator_frames);
    // The symbol kept on top: the last allocator symbol (heap), or the ad hoc entry point,
    // which dhat shows first as `dhat::ad_hoc_event`; anything above it is machinery.
    let top_symbol: Option<fn(&str) -> bool> = match profile.mode {
        _ if !trim.enabled => None,
        Mode::Heap => Some(is_allocator_symbol),
        Mode::AdHoc => Some(is_ad_hoc_entry),
    };
    let mut points = PointTable::new(resolver, top_symbol);
    if profile.mode == Mode::Heap && trim.enabled {
        points.show_allocator(&profile.allocator_path, &profile.zeroed_path);
    }
    for pp in &profile.program_points {
        points.add(trim.apply(&pp.frames), DhatPp::from_program_point(pp));
    }
    let (pps, ftbl) = points.finish();

    DhatDocument {
        mode: profile.mode.into(),
        cmd,
        pid,
        // Both times come from one clock in dhat, so `tg <= te` always holds there; ours
        // converts `tg` from cycle counts, which may land a microsecond past the end.
        tg: profile.t_gmax_us.unwrap_or(0).min(profile.t_end_us),
        te: profile.t_end_us,
        pps,
        ftbl,
    }
}

/// Resolves and merges the native profiler's call sites into a document ([`CALL_SITES_MODE`]).
/// `te_us` is the time the report covers, in microseconds; `cmd` and `pid` as for
/// [`build_document`].
///
/// Each site becomes one point with its bytes (`tb`) and blocks (`tbk`) and every frame it
/// captured, untrimmed: the capture already starts at the code that called the allocator,
/// and there is no start stack to cut the runtime below `main` by. Sites whose printed
/// frames come out identical are merged, as in heap files. Events that reached no site (no
/// frames captured, the table full, or contended) become one more point with no frames
/// (`fs: []`), which the viewer counts at its root: its `tbk` is their number and its `tb`
/// is 0, because the table counts them by reason only and never recorded their bytes.
pub(crate) fn build_call_site_document(
    report: &CallSiteReport,
    resolver: &mut dyn Resolve,
    cmd: String,
    pid: u32,
    te_us: u128,
) -> DhatDocument {
    let mut points = PointTable::new(resolver, None);
    for site in &report.sites {
        let entry = DhatPp {
            tb: site.bytes,
            tbk: site.count,
            ..DhatPp::default()
        };
        points.add(site.frames.iter().copied(), entry);
    }
    if report.unattributed_events > 0 {
        let entry = DhatPp {
            tbk: report.unattributed_events,
            ..DhatPp::default()
        };
        points.add(core::iter::empty(), entry);
    }
    let (pps, ftbl) = points.finish();
    DhatDocument {
        mode: DocumentMode::CallSites,
        cmd,
        pid,
        tg: 0,
        te: te_us,
        pps,
        ftbl,
    }
}

/// Writes `document` in dhat's key order. Does not flush.
pub(crate) fn write_document<W: Write>(
    document: &DhatDocument,
    layout: Layout,
    out: W,
) -> io::Result<W> {
    // Only heap files have lifetimes and peaks; only ad hoc files name their own units.
    let heap = document.mode == DocumentMode::Heap;
    let units = document.mode == DocumentMode::AdHoc;
    let mut w = PrettyWriter::new(out, layout);
    w.begin_object()?;
    w.unsigned_member("dhatFileVersion", 2)?;
    w.string_member("mode", document.mode.name())?;
    w.string_member("verb", "Allocated")?;
    w.bool_member("bklt", heap)?;
    w.bool_member("bkacc", false)?;
    if units {
        w.string_member("bu", "unit")?;
        w.string_member("bsu", "units")?;
        w.string_member("bksu", "events")?;
    }
    w.string_member("tu", "\u{b5}s")?;
    w.string_member("Mtu", "s")?;
    if heap {
        w.unsigned_member("tuth", 10)?;
    }
    w.string_member("cmd", &document.cmd)?;
    w.unsigned_member("pid", u128::from(document.pid))?;
    if heap {
        w.unsigned_member("tg", document.tg)?;
    }
    w.unsigned_member("te", document.te)?;
    w.key("pps")?;
    w.begin_array()?;
    for pp in &document.pps {
        w.element()?;
        w.begin_object()?;
        w.unsigned_member("tb", u128::from(pp.tb))?;
        w.unsigned_member("tbk", u128::from(pp.tbk))?;
        if heap {
            w.unsigned_member("tl", pp.tl)?;
            for (key, value) in [
                ("mb", pp.mb),
                ("mbk", pp.mbk),
                ("gb", pp.gb),
                ("gbk", pp.gbk),
                ("eb", pp.eb),
                ("ebk", pp.ebk),
            ] {
                w.unsigned_member(key, value as u128)?;
            }
        }
        w.key("fs")?;
        w.begin_array()?;
        for &index in &pp.fs {
            w.element()?;
            w.unsigned(index as u128)?;
        }
        w.end_array()?;
        w.end_object()?;
    }
    w.end_array()?;
    w.key("ftbl")?;
    w.begin_array()?;
    for frame in &document.ftbl {
        w.element()?;
        w.string(frame)?;
    }
    w.end_array()?;
    w.end_object()?;
    Ok(w.into_inner())
}

/// `document` as a string in `layout`.
pub(crate) fn document_string(document: &DhatDocument, layout: Layout) -> String {
    let bytes = write_document(document, layout, Vec::new()).unwrap_or_default();
    // The writer only ever emits UTF-8: ASCII syntax and the bytes of `&str` values.
    String::from_utf8(bytes).unwrap_or_default()
}
