//! The documented divergences from dhat 0.3.3.
//!
//! A difference found by [`crate::compare`] fails its scenario unless an
//! entry below excuses it, and an entry only counts if MIGRATING_FROM_DHAT.md
//! (at the repository root) really documents it: the cited section must be
//! a heading there, and the cited item must appear in that section as bold
//! text (`**…**`), which is how the guide lists each deliberate difference.
//! So every behaviour we do differently is written down for users before
//! the suite accepts it.
//!
//! Add an entry only together with its MIGRATING_FROM_DHAT.md item.

/// One excused kind of difference.
#[derive(Debug, Clone, Copy)]
pub struct Divergence {
    /// A scenario name, or `*` for every scenario.
    pub scenario: &'static str,
    /// The check name from [`crate::compare`].
    pub check: &'static str,
    /// The heading text (without the leading `#`s) of the section in
    /// MIGRATING_FROM_DHAT.md that documents it.
    pub section: &'static str,
    /// The bold item text inside that section.
    pub item: &'static str,
    /// The documents it applies to; empty for every document (and for
    /// differences of the whole run).
    pub documents: &'static [&'static str],
    /// Excuse the difference only in documents where dhat wrote two program
    /// points with the same `fs` list.
    pub only_where_dhat_repeats_fs: bool,
}

const MERGED: (&str, &str) = (
    "Deliberate differences",
    "Duplicate program points are merged.",
);

const FRAME_POINTERS: (&str, &str) = (
    "Deliberate differences",
    "Call stacks come from frame pointers.",
);

const C_WITHOUT_FRAME_POINTERS: (&str, &str) = (
    "Deliberate differences",
    "C code without frame pointers ends a call stack.",
);

const NO_UNWIND_TABLES: (&str, &str) = (
    "Deliberate differences",
    "C code without unwind tables does not end a call stack.",
);

const START_REENTERED: (&str, &str) = (
    "Deliberate differences",
    "Stacks that pass back through the profiler's start keep their own points.",
);

const BUILD_SETTINGS: (&str, &str) = (
    "Deliberate differences",
    "Some build settings still move the trim by one frame.",
);

/// The table. dhat issue #29: dhat keys program points by instruction
/// addresses, so after trimming two can print the same frames (the same
/// `fs` list), which makes dh_view reject the file; we merge such points.
/// That changes the per-point numbers and frames of the documents where
/// dhat repeated an `fs`, and only those.
pub const DIVERGENCES: &[Divergence] = &[
    Divergence {
        scenario: "*",
        check: "pp-numbers",
        section: MERGED.0,
        item: MERGED.1,
        documents: &[],
        only_where_dhat_repeats_fs: true,
    },
    Divergence {
        scenario: "*",
        check: "pp-frames",
        section: MERGED.0,
        item: MERGED.1,
        documents: &[],
        only_where_dhat_repeats_fs: true,
    },
    // With trimming off, dhat lists its own unwinder and allocator frames; we start at the
    // allocator's caller.
    Divergence {
        scenario: "trim_settings",
        check: "pp-frames",
        section: FRAME_POINTERS.0,
        item: FRAME_POINTERS.1,
        documents: &["trim-none.json"],
        only_where_dhat_repeats_fs: false,
    },
    // A frame-pointer walk ends at a Rust callback called from C code built without frame
    // pointers (glibc's qsort): the points below it merge, and the first event's short stack
    // leaves the profile's frames below `main` untrimmed.
    Divergence {
        scenario: "c_callbacks",
        check: "pp-numbers",
        section: C_WITHOUT_FRAME_POINTERS.0,
        item: C_WITHOUT_FRAME_POINTERS.1,
        documents: &["callbacks.json"],
        only_where_dhat_repeats_fs: false,
    },
    Divergence {
        scenario: "c_callbacks",
        check: "pp-frames",
        section: C_WITHOUT_FRAME_POINTERS.0,
        item: C_WITHOUT_FRAME_POINTERS.1,
        documents: &["callbacks.json"],
        only_where_dhat_repeats_fs: false,
    },
    // dhat's unwinder stops at a C frame without unwind tables; the frame-pointer walk goes
    // on, so its callers stay two points.
    Divergence {
        scenario: "no_unwind_tables",
        check: "pp-numbers",
        section: NO_UNWIND_TABLES.0,
        item: NO_UNWIND_TABLES.1,
        documents: &["no-unwind.json"],
        only_where_dhat_repeats_fs: false,
    },
    // The trim below the start stack is applied at report time, so stacks joined only by it
    // are merged there, with the larger part's peak.
    Divergence {
        scenario: "bottom_reentry",
        check: "pp-numbers",
        section: START_REENTERED.0,
        item: START_REENTERED.1,
        documents: &["reentry.json"],
        only_where_dhat_repeats_fs: false,
    },
    Divergence {
        scenario: "recursive_start",
        check: "pp-numbers",
        section: START_REENTERED.0,
        item: START_REENTERED.1,
        documents: &["recursive.json"],
        only_where_dhat_repeats_fs: false,
    },
    // dhat's program calls a dependency's unoptimised copy of `finish_grow`.
    Divergence {
        scenario: "trim_realloc_debug",
        check: "pp-frames",
        section: BUILD_SETTINGS.0,
        item: BUILD_SETTINGS.1,
        documents: &["realloc-8.json"],
        only_where_dhat_repeats_fs: false,
    },
    // The same, for the standard library's other generic allocation code, unoptimised or
    // optimised for size.
    Divergence {
        scenario: "elsewhere_generic_debug",
        check: "pp-frames",
        section: BUILD_SETTINGS.0,
        item: BUILD_SETTINGS.1,
        documents: &["shapes-8.json"],
        only_where_dhat_repeats_fs: false,
    },
    Divergence {
        scenario: "elsewhere_generic_debug",
        check: "pp-numbers",
        section: BUILD_SETTINGS.0,
        item: BUILD_SETTINGS.1,
        documents: &["shapes-4.json"],
        only_where_dhat_repeats_fs: false,
    },
    Divergence {
        scenario: "elsewhere_shapes_size",
        check: "pp-frames",
        section: BUILD_SETTINGS.0,
        item: BUILD_SETTINGS.1,
        documents: &["shapes-5.json", "shapes-6.json"],
        only_where_dhat_repeats_fs: false,
    },
    Divergence {
        scenario: "elsewhere_shapes_size",
        check: "pp-numbers",
        section: BUILD_SETTINGS.0,
        item: BUILD_SETTINGS.1,
        documents: &["shapes-4.json", "shapes-8.json"],
        only_where_dhat_repeats_fs: false,
    },
    // An unoptimised program's direct call of the allocator's method has no shim frame.
    Divergence {
        scenario: "elsewhere_direct_debug",
        check: "pp-frames",
        section: BUILD_SETTINGS.0,
        item: BUILD_SETTINGS.1,
        documents: &["shapes-4.json", "shapes-5.json", "shapes-8.json"],
        only_where_dhat_repeats_fs: false,
    },
    Divergence {
        scenario: "elsewhere_direct_debug",
        check: "pp-numbers",
        section: BUILD_SETTINGS.0,
        item: BUILD_SETTINGS.1,
        documents: &["shapes-6.json"],
        only_where_dhat_repeats_fs: false,
    },
];

/// Whether `markdown` has a heading `section` whose text (up to the next
/// heading of the same or a higher level) contains `**item**`.
pub fn documented(markdown: &str, section: &str, item: &str) -> bool {
    let mut level_inside: Option<usize> = None;
    let bold = format!("**{item}**");
    for line in markdown.lines() {
        let level = line.chars().take_while(|&c| c == '#').count();
        let is_heading = level > 0 && line[level..].starts_with(' ');
        if is_heading {
            if let Some(inside) = level_inside {
                if level <= inside {
                    level_inside = None;
                }
            }
            if line[level..].trim() == section {
                level_inside = Some(level);
            }
        } else if level_inside.is_some() && line.contains(&bold) {
            return true;
        }
    }
    false
}

/// The entry that excuses `difference` in `scenario`, if any.
pub fn excuse(
    scenario: &str,
    difference: &crate::compare::Difference,
) -> Option<&'static Divergence> {
    DIVERGENCES.iter().find(|d| {
        (d.scenario == "*" || d.scenario == scenario)
            && d.check == difference.check
            && (d.documents.is_empty()
                || difference
                    .document
                    .as_deref()
                    .is_some_and(|name| d.documents.contains(&name)))
            && (!d.only_where_dhat_repeats_fs || difference.dhat_repeats_fs)
    })
}
#[cfg(test)]
mod tests {
    use super::*;

    const GUIDE: &str = "# Guide\n## Deliberate differences\n- **Merged.** text\n### Detail\nmore\n## Other\n- **Elsewhere.**\n";

    #[test]
    fn finds_bold_items_only_in_their_section() {
        assert!(documented(GUIDE, "Deliberate differences", "Merged."));
        assert!(!documented(GUIDE, "Deliberate differences", "Elsewhere."));
        assert!(documented(GUIDE, "Other", "Elsewhere."));
        assert!(!documented(GUIDE, "Missing", "Merged."));
        assert!(!documented(GUIDE, "Deliberate differences", "Merged"));
    }

    #[test]
    fn the_real_table_is_documented_in_the_guide() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../MIGRATING_FROM_DHAT.md");
        let guide =
            std::fs::read_to_string(path).expect("MIGRATING_FROM_DHAT.md at the repository root");
        for entry in DIVERGENCES {
            assert!(documented(&guide, entry.section, entry.item), "{entry:?}");
        }
    }

    #[test]
    fn the_merge_is_excused_only_where_dhat_repeated_an_fs() {
        let difference = |check, dhat_repeats_fs| crate::compare::Difference {
            check,
            detail: String::new(),
            document: Some("x.json".to_owned()),
            dhat_repeats_fs,
        };
        assert!(excuse("any", &difference("pp-numbers", true)).is_some());
        assert!(excuse("any", &difference("pp-numbers", false)).is_none());
        assert!(excuse("any", &difference("stdout", true)).is_none());
    }

    #[test]
    fn an_entry_for_some_documents_excuses_nothing_in_the_others() {
        let in_document = |name: &str| crate::compare::Difference {
            check: "pp-frames",
            detail: String::new(),
            document: Some(name.to_owned()),
            dhat_repeats_fs: false,
        };
        assert!(excuse("trim_settings", &in_document("trim-none.json")).is_some());
        assert!(excuse("trim_settings", &in_document("trim-4.json")).is_none());
        assert!(excuse("trim_settings", &in_document("trim-max.json")).is_none());
    }
}
