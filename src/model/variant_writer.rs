//! Another writer's single-file layout of a makedumpfile dump ([`super::deviation`]): the contents
//! makedumpfile would write (dump level, shared zero page, compression, eraseinfo), placed as libkdumpfile's
//! test-suite generator `mkdiskdump` places them, through one [`DumpSink`] so the flattened and the raw
//! outputs are the same write sequence (P1).
//!
//! The sequence, mkdiskdump's order (data first, header last):
//!
//! 1. the shared zero page at Q (dump level bit 1), as makedumpfile stores it;
//! 2. per dumped page in pfn order: its descriptor at P + 24·i, then its data at the offset the
//!    [`DataOrder`](super::deviation::DataOrder) gives (the data area is filled without holes);
//! 3. bitmap 1 at (1 + `sub_hdr_size`)·PS and bitmap 2 after it, whole;
//! 4. the eraseinfo text after the data;
//! 5. the notes: right after the sub-header, or after the eraseinfo
//!    ([`NotesPlacement::AfterData`](super::deviation::NotesPlacement::AfterData));
//! 6. the header at 0 and the sub-header at PS — last, so with `sub_hdr_size` 0 the sub-header's bytes
//!    replace bitmap 1's first bytes (see [`bitmap1_overlay`]).
//!
//! `sub_hdr_size` is [`sub_hdr_blocks`]; P = (1 + `sub_hdr_size`)·PS + 2·L and Q = P + 24·D as always.

use crate::sink::DumpSink;

use super::deviation::{data_slots, notes_after_data, sub_hdr_blocks, SubHeaderBlocks};
use super::encode::{
    encode_header, encode_page_desc, encode_sub_header, HeaderFields, SubHeaderFields,
    PAGE_DESC_SIZE,
};
use super::makedumpfile::{makedumpfile_default_options, MakedumpfileOptions};
use super::notes::{note_section, trailing_vmcoreinfo};
use super::write::{store_page, too_big_for_field, Counting, WriteError, WriteSummary};
use super::Layout;

/// Where the structures of a variant file lie.
struct VariantPlan {
    options: MakedumpfileOptions,
    notes: Vec<u8>,
    sub_hdr_blocks: u64,
    bitmap_len: u64,
    bitmap_offset: u64,
    descriptors_offset: u64,
    data_offset: u64,
}

impl VariantPlan {
    fn new(layout: &Layout) -> Self {
        let options = makedumpfile_default_options(layout);
        let ps = layout.page_bytes();
        let notes = note_section(layout);
        let sub_hdr_blocks =
            sub_hdr_blocks(layout, options.abi.sub_header_size(), notes.len() as u64);
        let bitmap_len = layout.max_mapnr().div_ceil(8).div_ceil(ps) * ps;
        let bitmap_offset = (1 + sub_hdr_blocks) * ps;
        let descriptors_offset = bitmap_offset + 2 * bitmap_len;
        VariantPlan {
            options,
            notes,
            sub_hdr_blocks,
            bitmap_len,
            bitmap_offset,
            descriptors_offset,
            data_offset: descriptors_offset + PAGE_DESC_SIZE * layout.dumped_pages(),
        }
    }
}

/// One dumped page as the variant file stores it: its descriptor's fields and, unless it is the shared
/// zero page, its stored bytes.
struct PlacedPage {
    offset: u64,
    size: u32,
    flags: u32,
    data: Option<Vec<u8>>,
}

/// The dumped pages in pfn order, placed in the data area in the layout's data order; returns them and
/// the end of the data.
fn place_pages(layout: &Layout, plan: &VariantPlan) -> (Vec<PlacedPage>, u64) {
    let ps = layout.page_bytes();
    let shares_zero = layout.shares_zero_page();
    let mut pages: Vec<PlacedPage> = Vec::new();
    let mut stored: Vec<usize> = Vec::new();
    for page in layout.pages().filter(|p| !layout.excludes(p.class)) {
        let bytes = page.bytes(ps);
        if shares_zero && bytes.iter().all(|&b| b == 0) {
            pages.push(PlacedPage {
                offset: plan.data_offset,
                size: ps as u32,
                flags: 0,
                data: None,
            });
            continue;
        }
        let (flags, data) = store_page(layout.compression, &bytes);
        stored.push(pages.len());
        pages.push(PlacedPage {
            offset: 0,
            size: data.len() as u32,
            flags,
            data: Some(data.into_owned()),
        });
    }
    let slots = data_slots(layout.deviations.data_order, stored.len());
    let mut in_slot = vec![0usize; stored.len()];
    for (i, &slot) in slots.iter().enumerate() {
        in_slot[slot] = stored[i];
    }
    let mut next = plan.data_offset + if shares_zero { ps } else { 0 };
    for page in in_slot {
        pages[page].offset = next;
        next += u64::from(pages[page].size);
    }
    (pages, next)
}

/// The sub-header with the eraseinfo after the data (ending at `data_end`) and the notes where the layout
/// puts them.
fn final_sub_header(layout: &Layout, plan: &VariantPlan, data_end: u64) -> SubHeaderFields {
    let options = &plan.options;
    let mut sub = SubHeaderFields {
        phys_base: options.phys_base,
        dump_level: u32::from(layout.dump_level),
        max_mapnr_64: layout.max_mapnr(),
        ..Default::default()
    };
    let mut end = data_end;
    if let Some(text) = options.eraseinfo.as_ref().filter(|t| !t.is_empty()) {
        sub.offset_eraseinfo = end;
        sub.size_eraseinfo = text.len() as u64;
        end += text.len() as u64;
    }
    if !plan.notes.is_empty() {
        sub.offset_note = if notes_after_data(layout) {
            end
        } else {
            layout.page_bytes() + options.abi.sub_header_size()
        };
        sub.size_note = plan.notes.len() as u64;
        if let Some((desc_at, size)) = trailing_vmcoreinfo(&plan.notes, options.endian) {
            sub.offset_vmcoreinfo = sub.offset_note + desc_at;
            sub.size_vmcoreinfo = size;
        }
    }
    sub
}

/// Writes `layout` (a makedumpfile layout whose [`Deviations`](super::Deviations) change the file layout)
/// as another writer lays it out, through `sink` (then calls `sink.finish()`).
pub fn write_variant_kdump(
    layout: &Layout,
    sink: &mut dyn DumpSink,
) -> Result<WriteSummary, WriteError> {
    layout
        .validate()
        .map_err(|e| WriteError::Input(e.to_string()))?;
    let plan = VariantPlan::new(layout);
    let options = &plan.options;
    let ps = layout.page_bytes();
    let endian = options.endian;
    let mut out = Counting::new(sink);
    // 1. The shared zero page.
    if layout.shares_zero_page() {
        out.write(plan.data_offset, &vec![0u8; ps as usize])?;
    }
    // 2. Descriptors in pfn order, data where the order puts it.
    let (pages, data_end) = place_pages(layout, &plan);
    for (i, page) in pages.iter().enumerate() {
        let at = plan.descriptors_offset + PAGE_DESC_SIZE * i as u64;
        out.write(
            at,
            &encode_page_desc(endian, page.offset, page.size, page.flags),
        )?;
        if let Some(data) = &page.data {
            out.write(page.offset, data)?;
        }
    }
    // 3. The bitmaps, whole.
    let (bitmap1, bitmap2) = bitmaps(layout, plan.bitmap_len);
    out.write(plan.bitmap_offset, &bitmap1)?;
    out.write(plan.bitmap_offset + plan.bitmap_len, &bitmap2)?;
    // 4. and 5. Eraseinfo after the data, the notes where the layout puts them.
    let sub = final_sub_header(layout, &plan, data_end);
    if let Some(text) = options.eraseinfo.as_ref().filter(|t| !t.is_empty()) {
        out.write(sub.offset_eraseinfo, text.as_bytes())?;
    }
    if !plan.notes.is_empty() {
        out.write(sub.offset_note, &plan.notes)?;
    }
    // 6. Header and sub-header, last.
    let header = HeaderFields {
        header_version: 6,
        utsname: options.utsname.clone(),
        timestamp: options.timestamp,
        status: options.compression.flag(),
        block_size: ps as u32,
        sub_hdr_size: u32::try_from(plan.sub_hdr_blocks)
            .map_err(|_| too_big_for_field("sub_hdr_size"))?,
        bitmap_blocks: u32::try_from(2 * plan.bitmap_len / ps)
            .map_err(|_| too_big_for_field("bitmap_blocks"))?,
        max_mapnr: layout.max_mapnr().min(u64::from(u32::MAX)) as u32,
        nr_cpus: options.nr_cpus,
    };
    out.write(0, &encode_header(options.abi, endian, &header))?;
    out.write(ps, &encode_sub_header(options.abi, endian, &sub))?;
    out.sink.finish()?;
    Ok(WriteSummary {
        max_mapnr: layout.max_mapnr(),
        dumped_pages: layout.dumped_pages(),
        zero_pages: pages.iter().filter(|p| p.data.is_none()).count() as u64,
        compressed_pages: pages.iter().filter(|p| p.flags != 0).count() as u64,
        descriptors_offset: plan.descriptors_offset,
        data_offset: plan.data_offset,
        end: out.end,
        writes: out.writes,
    })
}

/// Both bitmaps of `bitmap_len` bytes: bitmap 1 a bit per pfn in memory, bitmap 2 per dumped pfn.
fn bitmaps(layout: &Layout, bitmap_len: u64) -> (Vec<u8>, Vec<u8>) {
    let mut bitmap1 = vec![0u8; bitmap_len as usize];
    let mut bitmap2 = vec![0u8; bitmap_len as usize];
    for page in layout.pages() {
        let (byte, bit) = ((page.pfn / 8) as usize, page.pfn % 8);
        bitmap1[byte] |= 1 << bit;
        if !layout.excludes(page.class) {
            bitmap2[byte] |= 1 << bit;
        }
    }
    (bitmap1, bitmap2)
}

/// With `sub_hdr_size` 0, the bytes at the start of bitmap 1 (block 1) as the file holds them: the
/// sub-header's, written last over the bitmap. A pfn below 8 × their length whose bit they set reads as
/// in memory but not dumped (excluded) to a reader of bitmap 1. `None` for every other layout.
pub fn bitmap1_overlay(layout: &Layout) -> Option<Vec<u8>> {
    if layout.deviations.sub_header_blocks != SubHeaderBlocks::Zero {
        return None;
    }
    let plan = VariantPlan::new(layout);
    let (_, data_end) = place_pages(layout, &plan);
    let sub = final_sub_header(layout, &plan, data_end);
    Some(encode_sub_header(
        plan.options.abi,
        plan.options.endian,
        &sub,
    ))
}
