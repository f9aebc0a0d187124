//! A minimal JSON emitter that reproduces serde_json's pretty layout byte for byte.
//!
//! dhat writes its file with serde_json's `PrettyFormatter` and an *empty* indent (every key
//! and element on its own line, nothing indented), and its memory buffer with the usual
//! two-space indent. Both come from the same rules: an opening bracket, then for each item a
//! newline (after a comma if it is not the first) and the indent repeated once per level,
//! keys followed by `": "`, and the closing bracket on a fresh line unless the container was
//! empty (`[]`). No trailing newline. The crate has no serde dependency, so this module is
//! the whole serialiser: values are written straight to an `io::Write`.

use std::io::{self, Write};

/// The two layouts dhat produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// One item per line, no indentation: dhat's `dhat-heap.json` files.
    File,
    /// Two-space indentation: dhat's memory buffer and `eprint_json` output.
    Pretty,
}

impl Layout {
    fn indent(self) -> &'static [u8] {
        match self {
            Layout::File => b"",
            Layout::Pretty => b"  ",
        }
    }
}

/// Containers a [`PrettyWriter`] can nest (a DHAT document nests four deep: the document,
/// `pps`, a program point and its `fs`).
const MAX_DEPTH: u32 = u64::BITS;

/// Writes pretty JSON to `out`. The caller drives the structure; each container tracks
/// whether it has had an item yet, which decides the separator and the closing line.
///
/// The writer allocates nothing of its own, so what `out` allocates is all there is.
pub(crate) struct PrettyWriter<W> {
    out: W,
    indent: &'static [u8],
    depth: u32,
    /// Bit `d` is set once the open container at depth `d + 1` has had an item.
    has_items: u64,
}

impl<W: Write> PrettyWriter<W> {
    pub(crate) fn new(out: W, layout: Layout) -> Self {
        PrettyWriter {
            out,
            indent: layout.indent(),
            depth: 0,
            has_items: 0,
        }
    }

    /// Gives back the underlying writer.
    pub(crate) fn into_inner(self) -> W {
        self.out
    }

    /// The `has_items` bit of the innermost open container (0 at the top level).
    fn innermost(&self) -> u64 {
        match self.depth {
            0 => 0,
            depth => 1 << (depth - 1),
        }
    }

    fn open(&mut self, bracket: u8) -> io::Result<()> {
        debug_assert!(self.depth < MAX_DEPTH, "JSON nested too deeply");
        self.out.write_all(&[bracket])?;
        self.depth += 1;
        self.has_items &= !self.innermost();
        Ok(())
    }

    fn close(&mut self, bracket: u8) -> io::Result<()> {
        let had_items = self.has_items & self.innermost() != 0;
        self.depth -= 1;
        if had_items {
            self.newline()?;
        }
        self.out.write_all(&[bracket])
    }

    fn newline(&mut self) -> io::Result<()> {
        self.out.write_all(b"\n")?;
        for _ in 0..self.depth {
            self.out.write_all(self.indent)?;
        }
        Ok(())
    }

    /// Starts an item of the innermost container: a comma unless it is the first, then a new
    /// indented line.
    fn item(&mut self) -> io::Result<()> {
        if self.depth == 0 {
            return Ok(());
        }
        if self.has_items & self.innermost() != 0 {
            self.out.write_all(b",")?;
        }
        self.has_items |= self.innermost();
        self.newline()
    }

    pub(crate) fn begin_object(&mut self) -> io::Result<()> {
        self.open(b'{')
    }

    pub(crate) fn end_object(&mut self) -> io::Result<()> {
        self.close(b'}')
    }

    /// Starts an array as the value of the current key or element.
    pub(crate) fn begin_array(&mut self) -> io::Result<()> {
        self.open(b'[')
    }

    pub(crate) fn end_array(&mut self) -> io::Result<()> {
        self.close(b']')
    }

    /// Writes `"key": ` as the next member of the current object; the value must follow.
    pub(crate) fn key(&mut self, key: &str) -> io::Result<()> {
        self.item()?;
        write_string(&mut self.out, key)?;
        self.out.write_all(b": ")
    }

    /// Starts the next element of the current array; a value must follow.
    pub(crate) fn element(&mut self) -> io::Result<()> {
        self.item()
    }

    pub(crate) fn string(&mut self, value: &str) -> io::Result<()> {
        write_string(&mut self.out, value)
    }

    pub(crate) fn unsigned(&mut self, value: u128) -> io::Result<()> {
        write!(self.out, "{value}")
    }

    pub(crate) fn boolean(&mut self, value: bool) -> io::Result<()> {
        self.out.write_all(if value { b"true" } else { b"false" })
    }

    /// `"key": "value"`.
    pub(crate) fn string_member(&mut self, key: &str, value: &str) -> io::Result<()> {
        self.key(key)?;
        self.string(value)
    }

    /// `"key": 123`.
    pub(crate) fn unsigned_member(&mut self, key: &str, value: u128) -> io::Result<()> {
        self.key(key)?;
        self.unsigned(value)
    }

    /// `"key": true`.
    pub(crate) fn bool_member(&mut self, key: &str, value: bool) -> io::Result<()> {
        self.key(key)?;
        self.boolean(value)
    }
}

/// Writes `value` as a JSON string with serde_json's escapes: `\"`, `\\`, the short forms
/// `\b \f \n \r \t`, `\u00XX` (lowercase hex) for the other control characters, and every
/// other character, non-ASCII included, as raw UTF-8.
pub(crate) fn write_string<W: Write + ?Sized>(out: &mut W, value: &str) -> io::Result<()> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.write_all(b"\"")?;
    let bytes = value.as_bytes();
    let mut clean_from = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let short: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.write_all(&bytes[clean_from..index])?;
        if short.is_empty() {
            let hex = [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ];
            out.write_all(&hex)?;
        } else {
            out.write_all(short)?;
        }
        clean_from = index + 1;
    }
    out.write_all(&bytes[clean_from..])?;
    out.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(value: &str) -> String {
        let mut out = Vec::new();
        write_string(&mut out, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_match_serde_json() {
        let mut all_controls = String::new();
        for code in 0u8..0x20 {
            all_controls.push(char::from(code));
        }
        let cases = [
            "plain",
            "",
            "quote \" backslash \\ slash /",
            "line\nreturn\rtab\tbell\u{7}nul\u{0}esc\u{1b}bs\u{8}ff\u{c}",
            &all_controls,
            "\u{7f} del stays raw",
            "µs ünïcödé 日本 🦀",
            "C:\\Users\\x\\target\\debug\\app.exe \"quoted arg\"",
        ];
        for case in cases {
            let ours = escaped(case);
            let theirs = serde_json::to_string(case).unwrap();
            assert_eq!(ours, theirs, "{case:?}");
            let back: String = serde_json::from_str(&ours).unwrap();
            assert_eq!(back, case);
        }
    }

    /// Builds `{"a": 1, "b": [1, 2], "c": [], "d": {}, "e": [{"x": "y"}], "f": true}`.
    fn sample(layout: Layout) -> String {
        let mut w = PrettyWriter::new(Vec::new(), layout);
        w.begin_object().unwrap();
        w.unsigned_member("a", 1).unwrap();
        w.key("b").unwrap();
        w.begin_array().unwrap();
        for n in [1, 2] {
            w.element().unwrap();
            w.unsigned(n).unwrap();
        }
        w.end_array().unwrap();
        w.key("c").unwrap();
        w.begin_array().unwrap();
        w.end_array().unwrap();
        w.key("d").unwrap();
        w.begin_object().unwrap();
        w.end_object().unwrap();
        w.key("e").unwrap();
        w.begin_array().unwrap();
        w.element().unwrap();
        w.begin_object().unwrap();
        w.string_member("x", "y").unwrap();
        w.end_object().unwrap();
        w.end_array().unwrap();
        w.bool_member("f", true).unwrap();
        w.end_object().unwrap();
        String::from_utf8(w.into_inner()).unwrap()
    }

    #[test]
    fn file_layout_is_serde_json_with_an_empty_indent() {
        // serde_json's sorted `Value` map happens to match this key order (a..f).
        let value: serde_json::Value =
            serde_json::from_str(r#"{"a":1,"b":[1,2],"c":[],"d":{},"e":[{"x":"y"}],"f":true}"#)
                .unwrap();
        // serde_json's two-space output with each line's indentation removed is exactly its
        // `PrettyFormatter::with_indent(b"")` output: JSON strings never hold a raw newline.
        let two_space = serde_json::to_string_pretty(&value).unwrap();
        let expected = two_space
            .lines()
            .map(str::trim_start)
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(sample(Layout::File), expected);
        assert_eq!(
            expected,
            "{\n\"a\": 1,\n\"b\": [\n1,\n2\n],\n\"c\": [],\n\"d\": {},\n\"e\": [\n{\n\"x\": \"y\"\n}\n],\n\"f\": true\n}"
        );
    }

    #[test]
    fn pretty_layout_is_serde_json_to_string_pretty() {
        let value: serde_json::Value =
            serde_json::from_str(r#"{"a":1,"b":[1,2],"c":[],"d":{},"e":[{"x":"y"}],"f":true}"#)
                .unwrap();
        assert_eq!(
            sample(Layout::Pretty),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }
}
