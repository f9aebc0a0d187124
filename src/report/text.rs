//! Small text helpers shared by the report writers: digit grouping and path trimming.

use std::path::Path;

/// Formats `value` with a comma between every group of three digits, as dhat's stderr
/// summary does: `1601024` becomes `1,601,024`.
pub(crate) fn with_thousands(value: u128) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// The last three components of `path` when it has more than three, else `path` itself.
///
/// A root counts as a component, so `/aa/bb/cc/dd.rs` becomes `bb/cc/dd.rs` while
/// `/bb/aa.rs` stays as it is. This keeps frame strings short but still tells a registry
/// crate (`dhat-0.3.3/src/lib.rs`) from std (`alloc/src/alloc.rs`) from user code.
pub(crate) fn trim_path(path: &Path) -> &Path {
    const KEPT: usize = 3;
    let count = path.components().count();
    if count <= KEPT {
        return path;
    }
    let mut components = path.components();
    for _ in 0..count - KEPT {
        components.next();
    }
    components.as_path()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_from_the_right() {
        let cases: [(u128, &str); 9] = [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1_000, "1,000"),
            (12_345, "12,345"),
            (123_456, "123,456"),
            (1_601_024, "1,601,024"),
            (200_001, "200,001"),
            (u64::MAX as u128, "18,446,744,073,709,551,615"),
        ];
        for (value, expected) in cases {
            assert_eq!(with_thousands(value), expected, "{value}");
        }
    }

    #[test]
    fn trim_path_keeps_the_last_three_components() {
        let cases = [
            ("/aa/bb/cc/dd.rs", "bb/cc/dd.rs"),
            ("/cc/bb/aa.rs", "cc/bb/aa.rs"),
            ("aa.rs", "aa.rs"),
            ("/aa.rs", "/aa.rs"),
            ("/bb/aa.rs", "/bb/aa.rs"),
            ("/", "/"),
            ("", ""),
            ("aa/bb/cc/dd/ee.rs", "cc/dd/ee.rs"),
            (
                "/opt/u/.cargo/registry/src/x/dhat-0.3.3/src/lib.rs",
                "dhat-0.3.3/src/lib.rs",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(trim_path(Path::new(input)), Path::new(expected), "{input}");
        }
    }
}
