//! K8: the sub-header fits its blocks, the notes follow it inside those blocks, VMCOREINFO lies inside the
//! notes, and the notes parse.

use super::report::FileReport;
use crate::kdump::{Headers, KInvariant};

/// K8 for one file's headers.
pub(super) fn check_sub_header(dump: &Headers, out: &mut FileReport<'_>) {
    let Some(sub) = dump.sub_header.as_ref() else {
        return;
    };
    let ps = dump.page_size();
    let blocks_end = ps.saturating_mul(1 + dump.header.sub_hdr_size.max(0) as u64);
    let sub_end = sub.file_offset + sub.size() as u64;
    if dump.header.sub_hdr_size < 1 || sub_end > blocks_end {
        out.violation(
            KInvariant::K8,
            Some(sub.file_offset),
            None,
            format!(
                "sub_hdr_size {} blocks cannot hold the {}-byte sub-header",
                dump.header.sub_hdr_size,
                sub.size()
            ),
        );
    }
    if let Some((offset, size)) = sub.notes_range() {
        if size > 0 {
            if offset != sub_end {
                out.violation(
                    KInvariant::K8,
                    Some(sub.file_offset),
                    None,
                    format!(
                        "offset_note is {offset:#x}, expected {sub_end:#x} (right after the sub-header)"
                    ),
                );
            }
            if offset.saturating_add(size) > blocks_end {
                out.violation(
                    KInvariant::K8,
                    Some(offset),
                    None,
                    format!(
                        "notes [{offset:#x}, {:#x}) run past the sub-header blocks (end {blocks_end:#x})",
                        offset.saturating_add(size)
                    ),
                );
            }
        }
    }
    if let Some((offset, size)) = sub.vmcoreinfo_range() {
        let (inside_start, inside_end) = match sub.notes_range() {
            Some((o, s)) => (o, o.saturating_add(s)),
            None => (sub_end, blocks_end),
        };
        if offset < inside_start || offset.saturating_add(size) > inside_end {
            out.violation(
                KInvariant::K8,
                Some(offset),
                None,
                format!(
                    "VMCOREINFO [{offset:#x}, {:#x}) is not inside [{inside_start:#x}, {inside_end:#x})",
                    offset.saturating_add(size)
                ),
            );
        }
    }
    if let Some(problem) = &dump.notes_error {
        out.violation(
            KInvariant::K8,
            problem.offset,
            None,
            problem.message.clone(),
        );
    }
}
