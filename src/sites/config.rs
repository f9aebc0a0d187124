//! `MOD_ALLOC_BUCKETS`: the capacity of the call-site table's first segment.
//!
//! The value sizes the table once per process, when the first [`crate::Profiler::start`]
//! turns call-site capture on. A start reads the variable while no table exists yet, in the
//! caller's own context with its recording suspended and before it takes the call-site
//! control lock: never inside an allocator call and never under a lock of the crate's, so
//! reading the environment (which takes std's environment lock and allocates) can neither
//! re-enter the allocator nor deadlock with it, nor with a fork (`Command::spawn` forks
//! while holding std's environment lock, and a fork waits for the control lock).
//!
//! | value | capacity | stderr |
//! |---|---|---|
//! | unset | 4,096 | nothing |
//! | a number in [64, 1,048,576] | rounded up to a power of two | nothing |
//! | a number below 64 | 64 | one line saying it was raised |
//! | a number above 1,048,576 (however large) | 1,048,576 | one line saying it was lowered |
//! | empty, negative, not a number, not UTF-8 | 4,096 | one line saying it was ignored |
//!
//! Surrounding ASCII whitespace is ignored. A number out of range is clamped rather than
//! ignored because it states an intent (a very small or very large table) that the nearest
//! bound serves better than the default.

use std::ffi::OsStr;

/// The environment variable.
pub(crate) const BUCKETS_VAR: &str = "MOD_ALLOC_BUCKETS";
/// Capacity when the variable is unset or unusable.
pub(crate) const DEFAULT_BUCKETS: usize = 4096;
/// Smallest accepted capacity.
pub(crate) const MIN_BUCKETS: usize = 64;
/// Largest accepted capacity.
pub(crate) const MAX_BUCKETS: usize = 1 << 20;

/// The capacity to use, and the one stderr line to print about the value, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BucketsSetting {
    pub(crate) buckets: usize,
    pub(crate) warning: Option<String>,
}

/// Interprets the raw value of `MOD_ALLOC_BUCKETS` (`None` when unset). Pure: prints nothing.
pub(crate) fn parse_buckets(raw: Option<&OsStr>) -> BucketsSetting {
    let Some(raw) = raw else {
        return BucketsSetting {
            buckets: DEFAULT_BUCKETS,
            warning: None,
        };
    };
    let ignored = |shown: &str, why: &str| BucketsSetting {
        buckets: DEFAULT_BUCKETS,
        warning: Some(format!(
            "mod-alloc: {BUCKETS_VAR}={shown} {why}; expected a number in \
             [{MIN_BUCKETS}, {MAX_BUCKETS}]; using {DEFAULT_BUCKETS}"
        )),
    };
    let Some(text) = raw.to_str() else {
        return ignored(&format!("{raw:?}"), "is not valid UTF-8");
    };
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if trimmed.is_empty() {
        return ignored("\"\"", "is empty");
    }
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        let why = if trimmed.starts_with('-') {
            "is negative"
        } else {
            "is not a number"
        };
        // Escaped, so a value with a line break still makes one line.
        return ignored(&trimmed.escape_debug().to_string(), why);
    }
    // All digits: anything that overflows u64 is simply above the maximum.
    let value = digits.parse::<u64>().unwrap_or(u64::MAX);
    if value < MIN_BUCKETS as u64 {
        return BucketsSetting {
            buckets: MIN_BUCKETS,
            warning: Some(format!(
                "mod-alloc: {BUCKETS_VAR}={trimmed} is below the minimum {MIN_BUCKETS}; using {MIN_BUCKETS}"
            )),
        };
    }
    if value > MAX_BUCKETS as u64 {
        return BucketsSetting {
            buckets: MAX_BUCKETS,
            warning: Some(format!(
                "mod-alloc: {BUCKETS_VAR}={trimmed} is above the maximum {MAX_BUCKETS}; using {MAX_BUCKETS}"
            )),
        };
    }
    BucketsSetting {
        buckets: (value as usize).next_power_of_two(),
        warning: None,
    }
}

#[cfg(all(test, not(mod_alloc_loom)))]
mod tests {
    use super::*;

    fn parse(text: &str) -> BucketsSetting {
        parse_buckets(Some(OsStr::new(text)))
    }

    fn assert_ignored(text: &str, why: &str) {
        let setting = parse(text);
        assert_eq!(setting.buckets, DEFAULT_BUCKETS, "{text:?}");
        let warning = setting.warning.expect("a warning");
        assert!(
            warning.starts_with("mod-alloc: MOD_ALLOC_BUCKETS="),
            "{warning}"
        );
        assert!(warning.contains(why), "{warning}");
        assert!(warning.ends_with("using 4096"), "{warning}");
        assert!(!warning.contains('\n'));
    }

    #[test]
    fn unset_is_the_default_silently() {
        assert_eq!(
            parse_buckets(None),
            BucketsSetting {
                buckets: 4096,
                warning: None
            }
        );
    }

    #[test]
    fn valid_values_round_up_to_powers_of_two() {
        for (text, expected) in [
            ("64", 64),
            ("100", 128),
            ("4096", 4096),
            ("1048576", 1 << 20),
            (" 65\n", 128),
            ("+300", 512),
        ] {
            assert_eq!(
                parse(text),
                BucketsSetting {
                    buckets: expected,
                    warning: None
                },
                "{text:?}"
            );
        }
    }

    #[test]
    fn unusable_values_fall_back_to_the_default() {
        assert_ignored("", "is empty");
        assert_ignored("   ", "is empty");
        assert_ignored("abc", "is not a number");
        assert_ignored("12abc", "is not a number");
        assert_ignored("1e4", "is not a number");
        assert_ignored("+", "is not a number");
        assert_ignored("-5", "is negative");
    }

    #[test]
    fn out_of_range_numbers_are_clamped_with_a_note() {
        let high = parse("99999999999");
        assert_eq!(high.buckets, MAX_BUCKETS);
        assert!(high
            .warning
            .unwrap()
            .contains("above the maximum 1048576; using 1048576"));
        let higher = parse("99999999999999999999999999");
        assert_eq!(higher.buckets, MAX_BUCKETS);
        assert!(higher.warning.is_some());
        let just_over = parse("1048577");
        assert_eq!(just_over.buckets, MAX_BUCKETS);
        assert!(just_over.warning.is_some());
        let low = parse("0");
        assert_eq!(low.buckets, MIN_BUCKETS);
        assert!(low
            .warning
            .unwrap()
            .contains("below the minimum 64; using 64"));
        assert_eq!(parse("63").buckets, MIN_BUCKETS);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_falls_back_to_the_default() {
        use std::os::unix::ffi::OsStringExt;
        let raw = std::ffi::OsString::from_vec(vec![b'6', 0xff, b'4']);
        let setting = parse_buckets(Some(&raw));
        assert_eq!(setting.buckets, DEFAULT_BUCKETS);
        assert!(setting.warning.unwrap().contains("is not valid UTF-8"));
    }
}
