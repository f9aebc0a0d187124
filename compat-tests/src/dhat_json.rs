//! What the runner extracts from one DHAT JSON document.
//!
//! Program points come out of dhat in hash-map order and their frames carry
//! run-specific instruction addresses, so nothing here compares documents
//! as text. A document is reduced to facts that must agree between dhat and
//! a faithful replacement: the key order of the header and of each program
//! point, the header values that do not depend on the run, the multiset of
//! per-point numbers, and each point's frames in the scenario's own code
//! (plus the `ad_hoc_event` frame that tops every ad hoc point).
//! Alongside, [`Facts::invariants`] lists the internal consistency rules a
//! heap file breaks (duplicate `fs` lists, peaks above maxima, and so on).

use serde_json::Value;
use std::collections::BTreeMap;

/// The per-point numbers compared as a multiset, in dhat's key order.
pub const HEAP_NUMBERS: [&str; 8] = ["tb", "tbk", "mb", "mbk", "gb", "gbk", "eb", "ebk"];
/// The subset that does not depend on how threads interleave.
pub const ORDER_FREE_NUMBERS: [&str; 4] = ["tb", "tbk", "eb", "ebk"];

/// Facts about one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `no-indent`, `2-space`, or another description of the layout.
    pub layout: String,
    pub top_keys: Vec<String>,
    /// Distinct key orders seen among the program points.
    pub pp_key_orders: Vec<Vec<String>>,
    /// Header values, except the run-specific cmd, pid, te and tg, which
    /// are reduced to their JSON types.
    pub header: BTreeMap<String, String>,
    pub is_heap: bool,
    /// Sorted per-point number tuples (using the keys given to `extract`).
    pub numbers: Vec<Vec<u64>>,
    /// Sorted (numbers, user frames) pairs.
    pub frames: Vec<(Vec<u64>, Vec<String>)>,
    /// Per-point frame lists with the instruction addresses removed, in
    /// file order (for the duplicate-printed-frames check).
    pub printed_frames: Vec<Vec<String>>,
    pub sums: BTreeMap<String, u64>,
    pub has_duplicate_fs: bool,
    pub invariants: Vec<String>,
}

/// Reduces `text` (the document) to facts. `user_file` is the path suffix
/// that marks a frame as the scenario's own code, e.g. `scenarios/x.rs`.
pub fn extract(text: &str, user_files: &[String], number_keys: &[&str]) -> Result<Facts, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let top = value.as_object().ok_or("not a JSON object")?;
    let (top_keys, pp_key_lists) = key_orders(text);
    let mut pp_key_orders: Vec<Vec<String>> = Vec::new();
    for keys in pp_key_lists {
        if !pp_key_orders.contains(&keys) {
            pp_key_orders.push(keys);
        }
    }

    let mut header = BTreeMap::new();
    for (key, item) in top {
        let shown = match key.as_str() {
            "pps" | "ftbl" => continue,
            // argv[0] is a path into a variant's own target directory:
            // compare only its file name, and the arguments exactly.
            "cmd" => match item.as_str() {
                Some(cmd) => {
                    let (program, arguments) = cmd.split_once(' ').unwrap_or((cmd, ""));
                    let program = program.rsplit(['/', '\\']).next().unwrap_or(program);
                    format!("{:?}", format!("{program} {arguments}").trim_end())
                }
                None => json_type(item).to_string(),
            },
            "pid" | "te" | "tg" => json_type(item).to_string(),
            _ => item.to_string(),
        };
        header.insert(key.clone(), shown);
    }
    let is_heap = top.get("bklt").and_then(Value::as_bool) == Some(true);
    let ftbl: Vec<&str> = top
        .get("ftbl")
        .and_then(Value::as_array)
        .ok_or("no ftbl array")?
        .iter()
        .map(|f| f.as_str().unwrap_or("<non-string frame>"))
        .collect();
    let pps = top
        .get("pps")
        .and_then(Value::as_array)
        .ok_or("no pps array")?;

    let mut invariants = Vec::new();
    if ftbl.first() != Some(&"[root]") {
        invariants.push("ftbl[0] is not \"[root]\"".to_string());
    }
    let mut numbers = Vec::new();
    let mut frames = Vec::new();
    let mut printed_frames = Vec::new();
    let mut fs_seen: Vec<Vec<u64>> = Vec::new();
    let mut has_duplicate_fs = false;
    let mut sums: BTreeMap<String, u64> = BTreeMap::new();
    for (index, pp) in pps.iter().enumerate() {
        let field = |key: &str| pp.get(key).and_then(Value::as_u64);
        let tuple: Vec<u64> = number_keys
            .iter()
            .map(|k| field(k).unwrap_or(u64::MAX))
            .collect();
        for key in HEAP_NUMBERS {
            if let Some(n) = field(key) {
                *sums.entry(key.to_string()).or_insert(0) += n;
            }
        }
        if is_heap {
            let (mb, gb, eb) = (field("mb"), field("gb"), field("eb"));
            if let (Some(mb), Some(gb), Some(eb)) = (mb, gb, eb) {
                if gb > mb || eb > mb {
                    invariants.push(format!("pps[{index}]: gb {gb} or eb {eb} exceeds mb {mb}"));
                }
            }
        }
        let fs: Vec<u64> = pp
            .get("fs")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        if fs_seen.contains(&fs) {
            has_duplicate_fs = true;
            invariants.push(format!(
                "pps[{index}]: the same fs as an earlier point: {fs:?}"
            ));
        }
        fs_seen.push(fs.clone());
        let names: Vec<&str> = fs
            .iter()
            .map(|&i| {
                ftbl.get(i as usize)
                    .copied()
                    .unwrap_or("<index out of range>")
            })
            .collect();
        if names.contains(&"<index out of range>") {
            invariants.push(format!("pps[{index}]: fs index out of range"));
        }
        printed_frames.push(names.iter().map(|f| strip_address(f).to_string()).collect());
        let user = user_frames(&names, user_files);
        frames.push((tuple.clone(), user));
        numbers.push(tuple);
    }
    numbers.sort();
    frames.sort();

    if let (Some(te), Some(tg)) = (top.get("te").and_then(Value::as_u64), top.get("tg")) {
        if let Some(tg) = tg.as_u64() {
            if tg > te {
                invariants.push(format!("tg {tg} is after te {te}"));
            }
        }
    }
    Ok(Facts {
        layout: layout_of(text),
        top_keys,
        pp_key_orders,
        header,
        is_heap,
        numbers,
        frames,
        printed_frames,
        sums,
        has_duplicate_fs,
        invariants,
    })
}

/// True when two program points print the same frame list once the
/// instruction addresses are removed.
pub fn has_duplicate_printed_frames(facts: &Facts) -> bool {
    let mut seen: Vec<&Vec<String>> = Vec::new();
    for list in &facts.printed_frames {
        if seen.contains(&list) {
            return true;
        }
        seen.push(list);
    }
    false
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_u64() => "unsigned",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn layout_of(text: &str) -> String {
    let second = text.lines().nth(1).unwrap_or("");
    let indent = second.len() - second.trim_start().len();
    let style = match indent {
        0 => "no-indent".to_string(),
        2 => "2-space".to_string(),
        n => format!("{n}-space"),
    };
    let ending = if text.ends_with('\n') {
        ", trailing newline"
    } else {
        ""
    };
    format!("{style}{ending}")
}

/// `0x55…: name (file:line:col)` becomes `name (file:line:col)`.
fn strip_address(frame: &str) -> &str {
    match frame.split_once(": ") {
        Some((address, rest)) if address.starts_with("0x") => rest,
        _ => frame,
    }
}

/// The function each crate shows first in every ad hoc point, named after
/// its crate (a documented difference).
const AD_HOC_ENTRIES: [&str; 2] = ["dhat::ad_hoc_event", "mod_alloc::dhat_compat::ad_hoc_event"];

/// The allocator shims `#[global_allocator]` generates. Their debug info
/// points at the scenario's `static`, but they are the allocator's code: in
/// unoptimised builds dhat shows one on top of a point whose stack has no
/// `alloc::alloc` function below it, and ours never does (a documented
/// difference).
const ALLOCATOR_SHIMS: [&str; 3] = ["__rust_alloc", "__rust_alloc_zeroed", "__rust_realloc"];

/// Whether a frame is a method of a `GlobalAlloc` the scenario defines
/// around `dhat::Alloc`. On top of a stack, above the allocating code, dhat
/// shows it where it shows the shims, and ours never does (a documented
/// difference).
fn is_wrapper_method(frame: &str) -> bool {
    let frame = strip_address(frame);
    let name = frame.rfind(" (").map_or(frame, |open| &frame[..open]);
    ["alloc", "alloc_zeroed", "realloc"]
        .iter()
        .any(|method| name.ends_with(&format!(" as core::alloc::global::GlobalAlloc>::{method}")))
}

/// A point's frames in the scenario's own code (see [`user_frame`]), top
/// first, leaving out the scenario's `GlobalAlloc` methods on top of the
/// stack, where only dhat shows them. Anywhere below they count.
fn user_frames(names: &[&str], user_files: &[String]) -> Vec<String> {
    let below_wrapper = names
        .iter()
        .position(|frame| user_frame(frame, user_files).is_some() && !is_wrapper_method(frame))
        .unwrap_or(names.len());
    names[below_wrapper..]
        .iter()
        .filter_map(|frame| user_frame(frame, user_files))
        .collect()
}

/// `name (…/scenarios/x.rs:12:5)` becomes `name (x.rs:12)` when the file is
/// one of `user_files` (a path suffix, or a directory when it ends in `/`);
/// other frames, and the allocator shims, give `None`.
/// Columns are dropped because inlining and toolchains move them. The one
/// frame of library code kept is the ad hoc entry point, as `ad_hoc_event`
/// whatever its crate and location, so that both must show it.
fn user_frame(frame: &str, user_files: &[String]) -> Option<String> {
    let frame = strip_address(frame);
    let open = frame.rfind(" (")?;
    let (name, location) = (&frame[..open], frame[open + 2..].strip_suffix(')')?);
    if AD_HOC_ENTRIES.contains(&name) {
        return Some("ad_hoc_event".to_string());
    }
    if ALLOCATOR_SHIMS.contains(&name.strip_prefix("__rustc::").unwrap_or(name)) {
        return None;
    }
    let mut parts = location.rsplitn(3, ':');
    let _column = parts.next()?;
    let line = parts.next()?;
    let file = parts.next()?;
    let file = file.replace('\\', "/");
    user_files.iter().find(|owned| {
        if owned.ends_with('/') {
            file.contains(owned.as_str())
        } else {
            file.ends_with(owned.as_str())
        }
    })?;
    let short = file.rsplit('/').next().unwrap_or(&file);
    Some(format!("{name} ({short}:{line})"))
}

/// Keys in document order: the top-level object's, and each program
/// point's. A small scanner, because serde_json's map does not keep order
/// unless a feature is enabled that would add dependencies.
fn key_orders(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut top = Vec::new();
    let mut pps: Vec<Vec<String>> = Vec::new();
    let mut depth = 0usize;
    let mut in_pps = false;
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '{' | '[' => {
                depth += 1;
                if c == '{' && in_pps && depth == 3 {
                    pps.push(Vec::new());
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    in_pps = false;
                }
            }
            '"' => {
                let mut string = String::new();
                let mut escaped = false;
                for (_, s) in chars.by_ref() {
                    if escaped {
                        string.push(s);
                        escaped = false;
                    } else if s == '\\' {
                        escaped = true;
                    } else if s == '"' {
                        break;
                    } else {
                        string.push(s);
                    }
                }
                while let Some((_, w)) = chars.peek() {
                    if w.is_whitespace() {
                        chars.next();
                    } else {
                        break;
                    }
                }
                if chars.peek().map(|(_, n)| *n) == Some(':') {
                    if depth == 1 {
                        in_pps = string == "pps";
                        top.push(string);
                    } else if depth == 3 && in_pps {
                        if let Some(keys) = pps.last_mut() {
                            keys.push(string);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (top, pps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAP: &str = "{\n\"dhatFileVersion\": 2,\n\"mode\": \"rust-heap\",\n\"verb\": \"Allocated\",\n\"bklt\": true,\n\"bkacc\": false,\n\"tu\": \"µs\",\n\"Mtu\": \"s\",\n\"tuth\": 10,\n\"cmd\": \"x\",\n\"pid\": 7,\n\"tg\": 3,\n\"te\": 9,\n\"pps\": [\n{\n\"tb\": 8,\n\"tbk\": 1,\n\"tl\": 0,\n\"mb\": 8,\n\"mbk\": 1,\n\"gb\": 8,\n\"gbk\": 1,\n\"eb\": 0,\n\"ebk\": 0,\n\"fs\": [\n1,\n2\n]\n},\n{\n\"tb\": 8,\n\"tbk\": 1,\n\"tl\": 0,\n\"mb\": 8,\n\"mbk\": 1,\n\"gb\": 0,\n\"gbk\": 0,\n\"eb\": 9,\n\"ebk\": 1,\n\"fs\": [\n3,\n2\n]\n}\n],\n\"ftbl\": [\n\"[root]\",\n\"0x1: alloc::boxed::Box<T>::new (alloc/src/boxed.rs:286:19)\",\n\"0x2: s::main (../scenarios/s.rs:10:17)\",\n\"0x3: alloc::boxed::Box<T>::new (alloc/src/boxed.rs:286:19)\"\n]\n}";

    fn facts(text: &str) -> Facts {
        extract(text, &["scenarios/s.rs".to_string()], &HEAP_NUMBERS).unwrap()
    }

    #[test]
    fn keeps_document_key_order() {
        let f = facts(HEAP);
        assert_eq!(f.top_keys[..3], ["dhatFileVersion", "mode", "verb"]);
        assert_eq!(f.top_keys.last().map(String::as_str), Some("ftbl"));
        assert_eq!(f.pp_key_orders.len(), 1);
        assert_eq!(f.pp_key_orders[0][0], "tb");
        assert_eq!(f.pp_key_orders[0][9], "fs");
        assert_eq!(f.layout, "no-indent");
    }

    #[test]
    fn hides_run_specific_header_values() {
        let f = facts(HEAP);
        assert_eq!(f.header["pid"], "unsigned");
        assert_eq!(f.header["cmd"], "\"x\"");
        let with_path = HEAP.replace(
            "\"cmd\": \"x\"",
            "\"cmd\": \"/t/compat-dhat/release/x a b\"",
        );
        assert_eq!(facts(&with_path).header["cmd"], "\"x a b\"");
        assert_eq!(f.header["mode"], "\"rust-heap\"");
    }

    #[test]
    fn reduces_frames_to_user_code_without_columns() {
        let f = facts(HEAP);
        assert_eq!(f.frames[0].1, ["s::main (s.rs:10)"]);
        assert!(has_duplicate_printed_frames(&f));
        assert!(!f.has_duplicate_fs);
    }

    #[test]
    fn keeps_the_ad_hoc_entry_frame_under_one_name() {
        let user = ["scenarios/s.rs".to_string()];
        for entry in [
            "0x9: dhat::ad_hoc_event (dhat-0.3.3/src/lib.rs:1176:9)",
            "0x8: mod_alloc::dhat_compat::ad_hoc_event (src/dhat_compat/mod.rs:412:5)",
        ] {
            assert_eq!(user_frame(entry, &user).as_deref(), Some("ad_hoc_event"));
        }
        assert_eq!(
            user_frame(
                "0x7: mod_alloc::heap::ad_hoc_event (src/heap/mod.rs:1:1)",
                &user
            ),
            None
        );
    }

    #[test]
    fn shared_scenario_code_is_the_scenarios_own() {
        let user = [
            "scenarios/s.rs".to_string(),
            "scenarios/common/".to_string(),
        ];
        assert_eq!(
            user_frame("0x5: w::run (../scenarios/common/w.rs:7:2)", &user).as_deref(),
            Some("w::run (w.rs:7)")
        );
        assert_eq!(user_frame("0x5: x::f (../scenarios/x.rs:7:2)", &user), None);
        assert_eq!(user_frame("0x5: y::g (src/common/y.rs:7:2)", &user), None);
    }

    #[test]
    fn allocator_shims_are_not_the_scenarios_code() {
        let user = ["scenarios/s.rs".to_string()];
        for shim in [
            "0x6: __rustc::__rust_alloc (../scenarios/s.rs:12:15)",
            "0x6: __rust_realloc (../scenarios/s.rs:12:15)",
        ] {
            assert_eq!(user_frame(shim, &user), None);
        }
        assert_eq!(
            user_frame("0x5: s::__rust_alloc_helper (../scenarios/s.rs:3:1)", &user).as_deref(),
            Some("s::__rust_alloc_helper (s.rs:3)")
        );
        let wrapper =
            "0x4: <s::Counting as core::alloc::global::GlobalAlloc>::alloc (../scenarios/s.rs:9:5)";
        let caller = "0x3: s::main (../scenarios/s.rs:20:5)";
        let std = "0x2: alloc::alloc::alloc (alloc/src/alloc.rs:9:5)";
        // On top, only dhat shows the wrapper: left out.
        assert_eq!(
            user_frames(&[wrapper, std, caller], &user),
            ["s::main (s.rs:20)"]
        );
        // Anywhere else it is the scenario's code like any other.
        assert_eq!(
            user_frames(&[std, caller, wrapper], &user),
            [
                "s::main (s.rs:20)",
                "<s::Counting as core::alloc::global::GlobalAlloc>::alloc (s.rs:9)"
            ]
        );
        let other_trait = "0x4: <s::Counting as s::Tally>::alloc (../scenarios/s.rs:9:5)";
        assert_eq!(user_frames(&[other_trait], &user).len(), 1);
    }

    #[test]
    fn reports_broken_invariants() {
        let f = facts(HEAP);
        assert_eq!(f.invariants.len(), 1, "{:?}", f.invariants);
        assert!(f.invariants[0].contains("eb 9"));
        let repeated = HEAP.replace("3,\n2\n]", "1,\n2\n]");
        let f = facts(&repeated);
        assert!(f.has_duplicate_fs);
        assert!(!has_duplicate_printed_frames(&facts(
            &HEAP.replace("0x3: alloc", "0x3: other")
        )));
    }
}
