//! K11: bitmap 2 (dumped) ⊆ bitmap 1 (memory), no bit at or beyond `max_mapnr`; and the in-memory and
//! excluded page counts.

use super::report::FileReport;
use crate::kdump::bitmap::{Which, SCAN_CHUNK};
use crate::kdump::{KInvariant, KdumpError, KdumpFile};
use crate::readat::ReadAt;

/// K11, and the in-memory/excluded counts (taken from the first file only: a split set repeats them).
pub(super) fn check_bitmaps<R: ReadAt>(
    dump: &KdumpFile<R>,
    out: &mut FileReport<'_>,
    first: bool,
) -> Result<(), KdumpError> {
    let reader = dump.reader();
    let bitmaps = dump.bitmaps();
    let max_mapnr = dump.max_mapnr();
    let mut second = vec![0u8; SCAN_CHUNK];
    let mut in_memory = 0u64;
    let mut both = 0u64;
    let mut found = Vec::new();
    bitmaps.scan(reader, Which::InMemory, 0, bitmaps.len, |at, bytes| {
        bitmaps.read(reader, Which::Dumped, at, &mut second[..bytes.len()])?;
        for (i, (&a, &b)) in bytes.iter().zip(&second[..bytes.len()]).enumerate() {
            let byte_index = at + i as u64;
            let base = byte_index * 8;
            let valid: u8 = if base + 8 <= max_mapnr {
                0xff
            } else if base >= max_mapnr {
                0
            } else {
                ((1u16 << (max_mapnr - base)) - 1) as u8
            };
            in_memory += (a & valid).count_ones() as u64;
            both += (a & b & valid).count_ones() as u64;
            let not_subset = b & !a;
            let beyond = (a | b) & !valid;
            if not_subset | beyond == 0 {
                continue;
            }
            if found.is_empty() && out.report.is_full(KInvariant::K11) {
                let n = not_subset.count_ones() + beyond.count_ones();
                out.report.count_only(KInvariant::K11, n as u64);
                continue;
            }
            for (bits, which) in [(not_subset, 0u8), (beyond, 1u8)] {
                let mut bits = bits;
                while bits != 0 {
                    let bit = bits.trailing_zeros() as u64;
                    bits &= bits - 1;
                    found.push((which, base + bit, byte_index));
                }
            }
            if found.len() > 4096 {
                flush_bitmap_findings(&mut found, dump, out);
            }
        }
        Ok(())
    })?;
    flush_bitmap_findings(&mut found, dump, out);
    if first {
        out.report.stats.pages.in_memory = in_memory;
        out.report.stats.pages.excluded = in_memory - both;
    }
    Ok(())
}

fn flush_bitmap_findings<R: ReadAt>(
    found: &mut Vec<(u8, u64, u64)>,
    dump: &KdumpFile<R>,
    out: &mut FileReport<'_>,
) {
    let bitmaps = dump.bitmaps();
    for (which, pfn, byte_index) in found.drain(..) {
        if which == 0 {
            out.violation_with(
                KInvariant::K11,
                Some(bitmaps.bitmap2_offset + byte_index),
                Some(pfn),
                || "set in bitmap 2 (dumped) but not in bitmap 1 (memory)".into(),
            );
        } else {
            out.violation_with(
                KInvariant::K11,
                Some(bitmaps.bitmap1_offset + byte_index),
                Some(pfn),
                || format!("bit set at or beyond max_mapnr {:#x}", dump.max_mapnr()),
            );
        }
    }
}
