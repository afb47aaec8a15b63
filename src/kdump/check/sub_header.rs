//! K8: the sub-header fits its blocks, the notes follow it inside those blocks, VMCOREINFO lies inside the
//! notes, and the notes parse.
//!
//! Only the last two are violations. Readers read the sub-header at block 1 whatever `sub_hdr_size` says
//! and the notes wherever `offset_note` points (libkdumpfile's `read_sub_hdr_64`/`read_sub_hdr_32` and
//! `read_notes` in `diskdump.c`, and this crate's [`Headers::read`]); the bitmaps start at block
//! 1 + `sub_hdr_size` in all of them. So a sub-header that overflows its blocks, or notes elsewhere, read
//! the same everywhere: a deviation from QEMU's and makedumpfile's layout (`docs/validity.md`).

use super::report::FileReport;
use crate::kdump::{Headers, KInvariant};

/// K8 for one file's headers.
pub(super) fn check_sub_header(dump: &Headers, out: &mut FileReport<'_>) {
    let Some(sub) = dump.sub_header.as_ref() else {
        return;
    };
    let ps = dump.page_size();
    let sub_hdr_size = dump.header.sub_hdr_size;
    let blocks_end = ps.saturating_mul(1 + sub_hdr_size.max(0) as u64);
    let sub_end = sub.file_offset + sub.size() as u64;
    if sub_hdr_size < 0 {
        // Readers compute the bitmaps' offset from it: a negative count puts them in different places.
        out.violation(
            KInvariant::K8,
            Some(sub.file_offset),
            None,
            format!("sub_hdr_size is {sub_hdr_size}, a negative number of blocks"),
        );
    } else if sub_hdr_size < 1 || sub_end > blocks_end {
        out.deviation(
            KInvariant::K8,
            Some(sub.file_offset),
            None,
            format!(
                "sub_hdr_size {sub_hdr_size} blocks cannot hold the {}-byte sub-header (readers read it at \
                 block 1 regardless; QEMU and makedumpfile reserve its blocks)",
                sub.size()
            ),
        );
    }
    if let Some((offset, size)) = sub.notes_range() {
        if size > 0 {
            if offset != sub_end {
                out.deviation(
                    KInvariant::K8,
                    Some(sub.file_offset),
                    None,
                    format!(
                        "offset_note is {offset:#x}, not {sub_end:#x} (right after the sub-header, where QEMU \
                         and makedumpfile put the notes)"
                    ),
                );
            }
            if offset.saturating_add(size) > blocks_end {
                out.deviation(
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
        let end = offset.saturating_add(size);
        match sub.notes_range() {
            // Readers that take VMCOREINFO from offset_vmcoreinfo and those that take it from the notes
            // (libkdumpfile from version 4) would see different texts.
            Some((o, s)) if offset < o || end > o.saturating_add(s) => out.violation(
                KInvariant::K8,
                Some(offset),
                None,
                format!(
                    "VMCOREINFO [{offset:#x}, {end:#x}) is not inside the notes [{o:#x}, {:#x})",
                    o.saturating_add(s)
                ),
            ),
            // Without notes, offset_vmcoreinfo is the only way to it: where it lies is layout.
            None if offset < sub_end || end > blocks_end => out.deviation(
                KInvariant::K8,
                Some(offset),
                None,
                format!(
                    "VMCOREINFO [{offset:#x}, {end:#x}) is not in the sub-header blocks after the sub-header \
                     [{sub_end:#x}, {blocks_end:#x})"
                ),
            ),
            _ => {}
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
