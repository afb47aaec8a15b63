//! K18: the files of a split set carry the same header and bitmaps and cover [0, max_mapnr) contiguously.

use super::report::{CheckReport, Violation};
use crate::kdump::set::{first_bitmap_difference, BitmapReadError};
use crate::kdump::{split_set_problems, KInvariant, KdumpFile, Which};
use crate::readat::ReadAt;

/// K18: the parts of a split set carry the same header and cover [0, max_mapnr) contiguously.
pub(super) fn check_split_set<R: ReadAt>(
    opened: &[Option<KdumpFile<R>>],
    report: &mut CheckReport,
) {
    let parts: Vec<(usize, &KdumpFile<R>)> = opened
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.as_ref().map(|d| (i, d)))
        .collect();
    for (file, message) in split_set_problems(&parts, opened.len()) {
        report.violation(Violation {
            id: KInvariant::K18,
            offset: None,
            pfn: None,
            file,
            message,
        });
    }
    check_split_bitmaps(&parts, report);
}

/// K18: every file of a split set carries the same two bitmaps (makedumpfile writes both whole into each
/// file, and `join` refuses a set whose bitmaps differ); a reader of the set takes each pfn's bits from the
/// file holding the pfn, so a difference elsewhere would otherwise go unnoticed. At most one violation
/// per file and bitmap, at the first differing byte (see [`first_bitmap_difference`]).
fn check_split_bitmaps<R: ReadAt>(parts: &[(usize, &KdumpFile<R>)], report: &mut CheckReport) {
    let Some((&(first_index, first), others)) = parts.split_first() else {
        return;
    };
    for &(index, part) in others {
        let bitmaps = part.bitmaps();
        if bitmaps.len != first.bitmaps().len {
            // Different headers: reported by split_set_problems.
            continue;
        }
        for (which, name, offset) in [
            (Which::InMemory, "bitmap 1", bitmaps.bitmap1_offset),
            (Which::Dumped, "bitmap 2", bitmaps.bitmap2_offset),
        ] {
            match first_bitmap_difference(first, part, which) {
                Ok(None) => {}
                Ok(Some(byte)) => report.violation(Violation {
                    id: KInvariant::K18,
                    offset: Some(offset + byte),
                    pfn: Some(byte * 8),
                    file: index,
                    message: format!(
                        "its {name} differs from file {first_index}'s at byte {byte:#x} (pfns {:#x}..{:#x}): \
                         the files of a split set carry the same bitmaps",
                        byte * 8,
                        byte * 8 + 8
                    ),
                }),
                Err(BitmapReadError::Reference(e)) => {
                    report.error(first_index, e);
                    return;
                }
                Err(BitmapReadError::Other(e)) => report.error(index, e),
            }
        }
    }
}
