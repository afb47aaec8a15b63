//! Checking that the parts belong together beyond [`KdumpSet::new`]'s checks (K18: split flags,
//! sub-headers, bitmaps), and where the areas of the joined file go.

use super::{first_sub_header, not_split, JoinError};
use crate::kdump::descriptor::PAGE_DESC_SIZE;
use crate::kdump::header::ByteOrder;
use crate::kdump::set::{first_bitmap_difference, BitmapReadError};
use crate::kdump::subheader::KdumpSubHeader;
use crate::kdump::{split_set_problems, KInvariant, KdumpError, KdumpFile, KdumpSet, Which};
use crate::readat::ReadAt;

/// makedumpfile's dump level bit for "exclude pages filled with zeros" (`DL_EXCLUDE_ZERO`).
const EXCLUDE_ZERO: i32 = 1;

/// Where the areas of the joined file are (all from the part holding pfn 0).
pub(super) struct JoinedLayout {
    pub(super) page_size: u64,
    pub(super) order: ByteOrder,
    /// Offset of the first descriptor.
    pub(super) descriptors: u64,
    /// Descriptors of the whole set (set bits of bitmap 2 below max_mapnr).
    pub(super) pages: u64,
    /// Offset of the page data: after the descriptors of the whole set.
    pub(super) data: u64,
    /// Whether the data starts with the shared zero page (dump level bit 1).
    pub(super) zero_page: bool,
}

/// Checks what makes the parts one set beyond [`KdumpSet::new`]'s checks, and lays out the joined file.
pub(super) fn check_parts<R: ReadAt>(set: &KdumpSet<R>) -> Result<JoinedLayout, JoinError> {
    let part_error = |part: usize, invariant, offset, message: String| JoinError::Part {
        part,
        error: KdumpError::invalid(invariant, offset, None, message),
    };
    for (index, part) in set.parts().iter().enumerate() {
        if !part.sub_header().is_some_and(|s| s.is_split()) {
            return Err(JoinError::Part {
                part: index,
                error: not_split(),
            });
        }
    }
    // KdumpSet::new checks several files; a lone part must cover everything as well.
    let numbered: Vec<(usize, &KdumpFile<R>)> = set.parts().iter().enumerate().collect();
    if let Some((part, problem)) = split_set_problems(&numbered, numbered.len())
        .into_iter()
        .next()
    {
        return Err(part_error(part, KInvariant::K18, None, problem));
    }
    let first = set.first();
    let header = first.header();
    let sub_header = first_sub_header(set)?;
    let page_size = first.page_size();
    let bitmap_blocks = header.bitmap_blocks as u64;
    if bitmap_blocks % 2 != 0 {
        return Err(part_error(
            0,
            KInvariant::K9,
            Some(0),
            format!("bitmap_blocks is odd ({bitmap_blocks}): where bitmap 2 starts is ambiguous"),
        ));
    }
    if first.max_pfn() != first.max_mapnr() {
        return Err(part_error(
            0,
            KInvariant::K9,
            Some(0),
            format!(
                "the bitmaps cover {:#x} pfns, fewer than max_mapnr {:#x}",
                first.max_pfn(),
                first.max_mapnr()
            ),
        ));
    }
    let sub_header_end = page_size + sub_header.size() as u64;
    let sub_header_blocks_end = page_size * (1 + header.sub_hdr_size.max(0) as u64);
    let areas = [
        ("notes", sub_header.notes_range()),
        ("VMCOREINFO", sub_header.vmcoreinfo_range()),
    ];
    for (what, range) in areas {
        if let Some((offset, size)) = range.filter(|&(_, size)| size > 0) {
            let end = offset.saturating_add(size);
            if offset < sub_header_end || end > sub_header_blocks_end {
                return Err(part_error(
                    0,
                    KInvariant::K8,
                    Some(offset),
                    format!(
                        "the {what} [{offset:#x}, {end:#x}) are not inside the sub-header blocks \
                         [{sub_header_end:#x}, {sub_header_blocks_end:#x})"
                    ),
                ));
            }
        }
    }
    for (index, part) in set.parts().iter().enumerate().skip(1) {
        if let Some(field) = differing_sub_header_field(sub_header, part.sub_header()) {
            return Err(part_error(
                index,
                KInvariant::K18,
                Some(page_size),
                format!("its sub-header's {field} differs from part 0's"),
            ));
        }
    }
    compare_bitmaps(set)?;
    // the descriptors follow all bitmap blocks
    let descriptors = first.bitmaps().bitmap1_offset + bitmap_blocks * page_size;
    let pages = first
        .bitmaps()
        .rank_dumped(first.reader(), first.max_pfn())
        .map_err(|error| JoinError::Part { part: 0, error })?;
    let data = descriptors + pages * PAGE_DESC_SIZE;
    Ok(JoinedLayout {
        page_size,
        order: header.byte_order,
        descriptors,
        pages,
        data,
        zero_page: sub_header.dump_level & EXCLUDE_ZERO != 0,
    })
}

/// The first field (other than the split fields and eraseinfo) in which `other` differs from `first`.
fn differing_sub_header_field(
    first: &KdumpSubHeader,
    other: Option<&KdumpSubHeader>,
) -> Option<&'static str> {
    let Some(other) = other else {
        return Some("presence");
    };
    let fields = [
        ("layout", first.layout == other.layout),
        ("phys_base", first.phys_base == other.phys_base),
        ("dump_level", first.dump_level == other.dump_level),
        (
            "VMCOREINFO location",
            first.vmcoreinfo_range() == other.vmcoreinfo_range(),
        ),
        ("notes location", first.notes_range() == other.notes_range()),
        ("max_mapnr_64", first.max_mapnr_64() == other.max_mapnr_64()),
    ];
    fields
        .into_iter()
        .find(|&(_, same)| !same)
        .map(|(field, _)| field)
}

/// Checks that every part carries the first part's bitmaps, byte for byte (K18).
fn compare_bitmaps<R: ReadAt>(set: &KdumpSet<R>) -> Result<(), JoinError> {
    let first = set.first();
    for (index, part) in set.parts().iter().enumerate().skip(1) {
        let bitmaps = part.bitmaps();
        for (which, offset) in [
            (Which::InMemory, bitmaps.bitmap1_offset),
            (Which::Dumped, bitmaps.bitmap2_offset),
        ] {
            let difference = first_bitmap_difference(first, part, which).map_err(|e| match e {
                BitmapReadError::Reference(error) => JoinError::Part { part: 0, error },
                BitmapReadError::Other(error) => JoinError::Part { part: index, error },
            })?;
            if let Some(byte) = difference {
                return Err(JoinError::Part {
                    part: index,
                    error: KdumpError::invalid(
                        KInvariant::K18,
                        Some(offset + byte),
                        None,
                        "its bitmaps differ from part 0's",
                    ),
                });
            }
        }
    }
    Ok(())
}
