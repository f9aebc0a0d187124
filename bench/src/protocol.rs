//! The line format between configuration binaries and the driver.
//!
//! One measurement per line, space-separated `key=value` pairs after a tag, so the output is
//! readable by eye and trivially parsed:
//!
//! ```text
//! META config=tier1 fp=yes contaminated=0
//! RESULT config=tier1 workload=pair64 threads=1 iters=4000000 ns_per_op=11.93 agg_ns_per_op=11.93
//! ```
//!
//! `ns_per_op` is the time one thread spends per operation (mean over the threads);
//! `agg_ns_per_op` is wall time divided by the operations of all threads. Call-site tiers add
//! the capture figures of that measurement alone, net of their probe's own allocations:
//! `frames_per_event=`, `events=`, `captured=` (events whose walk captured frames that
//! reached the site table), `expected_events=` (the events the workload made: every
//! operation of every thread, warm-up included) and `probe_settled=` (0 when the probe's own
//! allocations could not be netted out), so the driver can refuse to report overhead for a
//! walk that did not happen. `MEMORY` lines carry the memory-per-block probe and `FINISH`
//! lines the symbolication programs' finish time. New keys may be added freely: readers
//! ignore keys they do not know.

/// Tag of a measurement line.
pub const RESULT_TAG: &str = "RESULT";
/// Tag of a line describing the binary itself.
pub const META_TAG: &str = "META";
/// Tag of the memory-per-live-block probe's line.
pub const MEMORY_TAG: &str = "MEMORY";
/// Tag of a symbolication program's line (time to finish the profile, path of its JSON).
pub const FINISH_TAG: &str = "FINISH";

/// One tagged line, split into its fields in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// `RESULT`, `META`, or any other first word.
    pub tag: String,
    /// The `key=value` pairs in order of appearance.
    pub fields: Vec<(String, String)>,
}

impl Line {
    /// Parses a line; `None` for blank lines and lines without any `key=value` field.
    pub fn parse(text: &str) -> Option<Line> {
        let mut words = text.split_whitespace();
        let tag = words.next()?.to_string();
        let fields: Vec<(String, String)> = words
            .filter_map(|word| word.split_once('='))
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        if fields.is_empty() {
            return None;
        }
        Some(Line { tag, fields })
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key` as a number, if present and numeric.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.get(key)?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_and_ignores_plain_words() {
        let line =
            Line::parse("RESULT config=sys workload=pair16 threads=2 ns_per_op=10.5 x").unwrap();
        assert_eq!(line.tag, RESULT_TAG);
        assert_eq!(line.get("config"), Some("sys"));
        assert_eq!(line.number("threads"), Some(2.0));
        assert_eq!(line.number("ns_per_op"), Some(10.5));
        assert_eq!(line.get("missing"), None);
        assert_eq!(Line::parse("dhat: Total: 12 bytes"), None);
        assert_eq!(Line::parse(""), None);
    }
}
