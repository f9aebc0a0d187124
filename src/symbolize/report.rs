//! A plain-text report of the heaviest call sites, with resolved frames.
//!
//! The input is a slice of [`SiteInput`]: each site's raw frames (return addresses,
//! innermost first), its block count and its byte total. The report lists the top `n` by
//! bytes, then the top `n` by blocks. Each frame prints as
//! `function (file:line:column)`, inlined frames first and marked `[inlined]`; an
//! unresolved frame prints as its raw address. Notes about modules without symbols follow.

use std::fmt::Write as _;

use super::{Symbol, Symbolizer};
use crate::thread_state::Suspended;

/// One call site as the report sees it: raw frames, blocks, bytes.
pub(crate) type SiteInput = (Vec<usize>, u64, u64);

/// The top `top_n` sites by bytes and by blocks, with resolved frames.
#[allow(dead_code)] // the report module calls this once call sites are wired up
pub(crate) fn top_sites_report(
    sites: &[SiteInput],
    top_n: usize,
    symbolizer: &mut Symbolizer,
) -> String {
    let _suspended = Suspended::new();
    let mut out = String::new();
    let total_bytes: u64 = sites.iter().map(|site| site.2).sum();
    let total_blocks: u64 = sites.iter().map(|site| site.1).sum();
    let _ = writeln!(
        out,
        "{} call sites, {} blocks, {} bytes in total",
        sites.len(),
        total_blocks,
        total_bytes
    );

    let mut order: Vec<usize> = (0..sites.len()).collect();
    for (title, key) in [("bytes", 2usize), ("blocks", 1usize)] {
        order.sort_by(|&a, &b| {
            let (a_key, b_key) = if key == 2 {
                (sites[a].2, sites[b].2)
            } else {
                (sites[a].1, sites[b].1)
            };
            b_key.cmp(&a_key).then(a.cmp(&b))
        });
        let _ = writeln!(
            out,
            "\nTop {} call sites by {title}:",
            top_n.min(sites.len())
        );
        for (rank, &index) in order.iter().take(top_n).enumerate() {
            let (frames, blocks, bytes) = &sites[index];
            let _ = writeln!(out, "#{} {bytes} bytes in {blocks} blocks", rank + 1);
            for &frame in frames {
                write_frame(&mut out, frame, symbolizer.resolve(frame));
            }
        }
    }
    for note in symbolizer.notes() {
        let _ = writeln!(out, "{note}");
    }
    out
}

fn write_frame(out: &mut String, address: usize, symbols: &[Symbol]) {
    let last = symbols.len().saturating_sub(1);
    for (index, symbol) in symbols.iter().enumerate() {
        let _ = write!(out, "    {address:#x}: ");
        match &symbol.function {
            Some(function) => out.push_str(function),
            None if symbol.file.is_none() => out.push_str("???"),
            None => out.push_str("<unknown>"),
        }
        if let Some(file) = &symbol.file {
            let _ = write!(out, " ({file}");
            if let Some(line) = symbol.line {
                let _ = write!(out, ":{line}");
                if let Some(column) = symbol.column {
                    let _ = write!(out, ":{column}");
                }
            }
            out.push(')');
        }
        if index < last {
            out.push_str(" [inlined]");
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn report_probe_function() -> usize {
        std::hint::black_box(report_probe_function as fn() -> usize as usize)
    }

    #[test]
    fn the_report_ranks_sites_and_names_their_frames() {
        let probe = report_probe_function();
        let sites: Vec<SiteInput> = vec![
            (vec![probe + 1], 1, 4096),
            (vec![16], 3, 24),
            (vec![probe + 1, 16], 2, 48),
        ];
        let mut symbolizer = Symbolizer::new();
        let text = top_sites_report(&sites, 2, &mut symbolizer);
        assert!(
            text.starts_with("3 call sites, 6 blocks, 4168 bytes in total"),
            "{text}"
        );
        let by_bytes = text
            .split("Top 2 call sites by bytes:")
            .nth(1)
            .expect("bytes table");
        assert!(
            by_bytes
                .trim_start()
                .starts_with("#1 4096 bytes in 1 blocks"),
            "{text}"
        );
        let by_blocks = text
            .split("Top 2 call sites by blocks:")
            .nth(1)
            .expect("blocks table");
        assert!(
            by_blocks
                .trim_start()
                .starts_with("#1 24 bytes in 3 blocks"),
            "{text}"
        );
        assert!(text.contains("report_probe_function"), "{text}");
        assert!(text.contains("    0x10: ???"), "{text}");
    }
}
