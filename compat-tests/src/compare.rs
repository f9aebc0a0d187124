//! Comparing our run of a scenario with dhat's, check by check.
//!
//! Each difference is tagged with the name of the check that found it, so
//! that the divergence table can excuse it by check and scenario. The check
//! names are: `exit-status`, `stdout`, `stderr`, `files`, `json-header`
//! (layout, key order and run-independent header values), `pp-numbers`
//! (the multiset of per-point numbers) and `pp-frames` (per-point frames in
//! the scenario's own code, with their numbers).

use crate::observe::Observation;
use std::fmt::Debug;

/// One way our run differed from dhat's.
#[derive(Debug, Clone)]
pub struct Difference {
    pub check: &'static str,
    pub detail: String,
    /// The document concerned (a file name, or `<memory>` and the like),
    /// or `None` for a difference of the whole run (exit status, output).
    pub document: Option<String>,
    /// Whether the dhat document concerned has two program points with
    /// the same `fs` list (dhat issue #29), which our merge changes.
    pub dhat_repeats_fs: bool,
}

/// Every difference between dhat's run (`reference`) and ours.
pub fn compare(reference: &Observation, ours: &Observation) -> Vec<Difference> {
    let mut found = Vec::new();
    // Set while a document is compared: its name, and does dhat's copy
    // repeat an fs?
    let document = std::cell::RefCell::new(None::<String>);
    let repeats = std::cell::Cell::new(false);
    let mut push = |check: &'static str, detail: String| {
        found.push(Difference {
            check,
            detail,
            document: document.borrow().clone(),
            dhat_repeats_fs: repeats.get(),
        })
    };
    if reference.exit != ours.exit {
        push(
            "exit-status",
            format!("dhat: {}, ours: {}", reference.exit, ours.exit),
        );
    }
    if let Some(detail) = first_line_difference(&reference.stdout, &ours.stdout) {
        push("stdout", detail);
    }
    if let Some(detail) = first_line_difference(&reference.stderr, &ours.stderr) {
        push("stderr", detail);
    }
    if reference.files != ours.files {
        push(
            "files",
            format!(
                "dhat wrote {:?}, ours wrote {:?}",
                reference.files, ours.files
            ),
        );
    }
    for (name, theirs) in &reference.documents {
        *document.borrow_mut() = Some(name.clone());
        let Some(mine) = ours.documents.get(name) else {
            if !name.starts_with('<') {
                continue; // already reported by the files check
            }
            push(
                "json-header",
                format!("{name}: dhat printed it, ours did not"),
            );
            continue;
        };
        let (theirs, mine) = match (&theirs.facts, &mine.facts) {
            (Ok(t), Ok(m)) => {
                repeats.set(t.has_duplicate_fs);
                (t, m)
            }
            (t, m) => {
                if t.is_ok() != m.is_ok() || t.as_ref().err() != m.as_ref().err() {
                    push(
                        "json-header",
                        format!(
                            "{name}: dhat {:?}, ours {:?}",
                            t.as_ref().err(),
                            m.as_ref().err()
                        ),
                    );
                }
                continue;
            }
        };
        field(
            &mut push,
            "json-header",
            name,
            "layout",
            &theirs.layout,
            &mine.layout,
        );
        field(
            &mut push,
            "json-header",
            name,
            "top-level keys",
            &theirs.top_keys,
            &mine.top_keys,
        );
        field(
            &mut push,
            "json-header",
            name,
            "program point keys",
            &theirs.pp_key_orders,
            &mine.pp_key_orders,
        );
        field(
            &mut push,
            "json-header",
            name,
            "header",
            &theirs.header,
            &mine.header,
        );
        field(
            &mut push,
            "pp-numbers",
            name,
            "per-point numbers",
            &theirs.numbers,
            &mine.numbers,
        );
        if theirs.numbers == mine.numbers {
            field(
                &mut push,
                "pp-frames",
                name,
                "per-point user frames",
                &theirs.frames,
                &mine.frames,
            );
        }
    }
    repeats.set(false);
    for name in ours.documents.keys() {
        *document.borrow_mut() = Some(name.clone());
        if name.starts_with('<') && !reference.documents.contains_key(name) {
            push(
                "json-header",
                format!("{name}: ours printed it, dhat did not"),
            );
        }
    }
    found
}

fn field<T: PartialEq + Debug>(
    push: &mut impl FnMut(&'static str, String),
    check: &'static str,
    document: &str,
    what: &str,
    theirs: &T,
    mine: &T,
) {
    if theirs != mine {
        push(
            check,
            format!("{document}: {what} differ\n      dhat: {theirs:?}\n      ours: {mine:?}"),
        );
    }
}

fn first_line_difference(theirs: &[String], mine: &[String]) -> Option<String> {
    if theirs == mine {
        return None;
    }
    let index = theirs.iter().zip(mine).take_while(|(a, b)| a == b).count();
    let show = |lines: &[String]| {
        lines
            .get(index)
            .map_or("<no more lines>".to_string(), |l| format!("{l:?}"))
    };
    Some(format!(
        "line {}: dhat {} / ours {} ({} vs {} lines)",
        index + 1,
        show(theirs),
        show(mine),
        theirs.len(),
        mine.len()
    ))
}
