//! Where each structure of a dump lies, from the formulas of docs/FORMATS.md §2–3 (not from the writer):
//! the byte ranges a writer must write ([`expected_file_extents`]).

use serde::Serialize;

use crate::model::deviation::{notes_after_data, sub_hdr_blocks};
use crate::model::encode::PAGE_DESC_SIZE;
use crate::model::makedumpfile::layout_cyclic_buffer;
use crate::model::notes::note_section;
use crate::model::{store_page, struct_abi, Layout, WriterKind};

/// A named byte range of a kdump-compressed file that the writer must fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extent {
    /// What it holds: "header", "sub-header", "notes", "bitmap 1", "bitmap 2", "descriptors",
    /// "page data", "eraseinfo".
    pub name: &'static str,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// The ranges a writer must write for `layout` written as one file, from the formulas of docs/FORMATS.md
/// §2–3 (sorted by start); everything else below the last end is a hole.
pub fn expected_extents(layout: &Layout) -> Vec<Extent> {
    expected_file_extents(layout, None)
}

/// The ranges a writer must write for `layout` as one file (`split` = `None`) or as the file of a
/// `--split` set holding the pfns of `split` (docs/FORMATS.md §2–3, K18: every file has the header, notes and
/// both whole bitmaps and room for the descriptors of every dumpable page of the dump, but only its own
/// descriptors, then its own data after that room). Other writers' layouts (`Layout::deviations`):
/// `sub_hdr_size` as [`sub_hdr_blocks`] says (so bitmap 1 may start on the sub-header), the notes after
/// the data and eraseinfo, both bitmaps whole. Sorted by start; everything else below the last end is a
/// hole.
pub fn expected_file_extents(layout: &Layout, split: Option<(u64, u64)>) -> Vec<Extent> {
    let in_file = |pfn: u64| split.is_none_or(|(start, end)| (start..end).contains(&pfn));
    let ps = layout.page_bytes();
    let abi = struct_abi(layout);
    let h = abi.header_size();
    let k = abi.sub_header_size();
    let n = note_section(layout).len() as u64;
    let m = layout.max_mapnr();
    let l = m.div_ceil(8).div_ceil(ps) * ps;
    // sub_hdr_size: the blocks of sub-header and notes; of the sub-header alone when the notes are after
    // the data; 0 for that deviation (docs/validity.md).
    let s = sub_hdr_blocks(layout, k, n);
    let bitmap = (1 + s) * ps;
    let p = bitmap + 2 * l;
    let d = layout.dumped_pages();
    let q = p + PAGE_DESC_SIZE * d;
    let mut data_len = 0u64;
    let mut file_pages = 0u64;
    for page in layout
        .pages()
        .filter(|pg| !layout.excludes(pg.class) && in_file(pg.pfn))
    {
        file_pages += 1;
        let bytes = page.bytes(ps);
        if layout.shares_zero_page() && bytes.iter().all(|&b| b == 0) {
            continue;
        }
        data_len += store_page(layout.compression, &bytes).1.len() as u64;
    }
    // Both writers store the shared zero page whether or not a page uses it.
    if layout.shares_zero_page() {
        data_len += ps;
    }
    let bitmap_written = match layout.writer {
        // QEMU: whole PS-byte chunks, chunk 0 up to the chunk of the last pfn.
        WriterKind::Qemu => (m - 1) / (ps * 8) * ps + ps,
        // makedumpfile: the whole bitmap (non-cyclic), or the bytes of pfns below max_mapnr (cyclic).
        // Another writer's file layout: both bitmaps whole.
        WriterKind::Makedumpfile if layout.deviations.changes_file_layout() => l,
        WriterKind::Makedumpfile if layout_cyclic_buffer(layout).is_some() => m.div_ceil(8),
        WriterKind::Makedumpfile => l,
    };
    let mut extents = vec![
        Extent {
            name: "header",
            start: 0,
            end: h,
        },
        Extent {
            name: "sub-header",
            start: ps,
            end: ps + k,
        },
    ];
    let erase_len = layout
        .eraseinfo
        .as_ref()
        .filter(|t| !t.is_empty())
        .map_or(0, |t| t.len() as u64);
    let notes_at = if notes_after_data(layout) {
        q + data_len + erase_len
    } else {
        ps + k
    };
    if n > 0 {
        extents.push(Extent {
            name: "notes",
            start: notes_at,
            end: notes_at + n,
        });
    }
    extents.push(Extent {
        name: "bitmap 1",
        start: bitmap,
        end: bitmap + bitmap_written,
    });
    extents.push(Extent {
        name: "bitmap 2",
        start: bitmap + l,
        end: bitmap + l + bitmap_written,
    });
    extents.push(Extent {
        name: "descriptors",
        start: p,
        end: p + PAGE_DESC_SIZE * file_pages,
    });
    extents.push(Extent {
        name: "page data",
        start: q,
        end: q + data_len,
    });
    if let Some(text) = layout.eraseinfo.as_ref().filter(|t| !t.is_empty()) {
        extents.push(Extent {
            name: "eraseinfo",
            start: q + data_len,
            end: q + data_len + text.len() as u64,
        });
    }
    extents.retain(|e| e.end > e.start);
    extents.sort_by_key(|e| e.start);
    extents
}
