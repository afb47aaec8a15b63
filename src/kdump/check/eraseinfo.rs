//! K17: the eraseinfo text lies after the page data and inside the file.

use super::report::FileReport;
use crate::kdump::{KInvariant, KdumpFile};
use crate::readat::ReadAt;

/// K17 for one file whose page data ends at `data_end`.
pub(super) fn check_eraseinfo<R: ReadAt>(
    dump: &KdumpFile<R>,
    out: &mut FileReport<'_>,
    data_end: u64,
) {
    let Some((offset, size)) = dump.sub_header().and_then(|s| s.eraseinfo_range()) else {
        return;
    };
    let end = offset.saturating_add(size);
    if offset < data_end || end > dump.file_size() {
        out.violation(
            KInvariant::K17,
            Some(offset),
            None,
            format!(
                "eraseinfo [{offset:#x}, {end:#x}) must lie in [{data_end:#x}, {:#x}) \
                 (after the page data, inside the file)",
                dump.file_size()
            ),
        );
    }
}
