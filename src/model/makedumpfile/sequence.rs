//! makedumpfile's write sequence, step by step (the steps are listed in the [module
//! documentation](super)): `plan_sequence` checks the input and places the structures, then one
//! function per step writes.

use std::io;

use crate::model::encode::{encode_header, encode_sub_header, HeaderFields, SubHeaderFields};
use crate::model::notes::{note_section, trailing_vmcoreinfo};
use crate::model::write::{
    check_page_size, Counting, DumpGeometry, GuestBlock, WriteError, WriteSummary,
};
use crate::model::{block_memories, guest_blocks, Layout, LayoutError};
use crate::sink::DumpSink;

use super::cache::{PagePolicy, PageWriter};
use super::options::{makedumpfile_options, MakedumpfileOptions};

/// `BUFSIZE_BITMAP`: the bitmaps are copied from makedumpfile's bitmap file in pieces of this size.
pub const BUFSIZE_BITMAP: usize = 4096;

/// Writes `layout` as makedumpfile would as one file (in the layout's write mode, without `--split`),
/// through `sink` (then calls `sink.finish()`).
pub fn write_makedumpfile_kdump(
    layout: &Layout,
    sink: &mut dyn DumpSink,
) -> Result<WriteSummary, WriteError> {
    write_makedumpfile_kdump_with(layout, &makedumpfile_options(layout), sink)
}

/// Writes `layout` as makedumpfile would with `options` (normally [`makedumpfile_options`] of the layout
/// with another bitmap mode, split range or thread count), through `sink` (then calls `sink.finish()`).
pub fn write_makedumpfile_kdump_with(
    layout: &Layout,
    options: &MakedumpfileOptions,
    sink: &mut dyn DumpSink,
) -> Result<WriteSummary, WriteError> {
    layout
        .validate()
        .map_err(|e: LayoutError| WriteError::Input(e.to_string()))?;
    let memories = block_memories(layout);
    let blocks = guest_blocks(layout, &memories);
    let excluded: Vec<u64> = layout
        .pages()
        .filter(|p| layout.excludes(p.class))
        .map(|p| p.pfn)
        .collect();
    let is_dumped = |pfn: u64| excluded.binary_search(&pfn).is_err();
    write_makedumpfile_kdump_from(&blocks, &is_dumped, &note_section(layout), options, sink)
}

/// Writes a dump of `blocks` (pfns for which `is_dumped` is false are left out, as the dump level would)
/// with ELF `notes` exactly as makedumpfile's kdump writer does, in its non-cyclic mode or, with
/// [`MakedumpfileOptions::cyclic_buffer`], cycle by cycle; with [`MakedumpfileOptions::split`], one file
/// of a `--split` set. Through `sink` (then calls `sink.finish()`).
pub fn write_makedumpfile_kdump_from(
    blocks: &[GuestBlock<'_>],
    is_dumped: &dyn Fn(u64) -> bool,
    notes: &[u8],
    options: &MakedumpfileOptions,
    sink: &mut dyn DumpSink,
) -> Result<WriteSummary, WriteError> {
    let plan = plan_sequence(blocks, is_dumped, notes, options)?;
    let geometry = &plan.geometry;
    let mut out = Counting::new(sink);
    // 1. Header, notes, sub-header.
    let mut sub = write_headers(&mut out, options, &plan, notes)?;
    // 2. The shared zero page.
    let mut pages = PageWriter::new(
        &PagePolicy {
            page_size: geometry.page_size,
            cache_size: plan.cache_size,
            shares_zero: options.dump_level & 1 != 0,
            early_flush: options.num_threads == 0,
            compression: options.compression,
            endian: options.endian,
        },
        geometry.descriptors_offset,
        geometry.data_offset,
    );
    pages.put_shared_zero_page(&mut out)?;
    let (bitmap1, bitmap2) = build_bitmaps(blocks, is_dumped, geometry);
    // 3. Bitmap 1, cycle by cycle.
    write_bitmap1(&mut out, options, &plan, &bitmap1)?;
    // 4. Per cycle, bitmap 2's part and the cycle's pages.
    write_cycles(
        &mut out, options, &plan, &bitmap2, blocks, is_dumped, &mut pages,
    )?;
    // 5. Remainders: data first, then descriptors.
    pages.flush_remainders(&mut out)?;
    // 6. Eraseinfo and the sub-header rewrite.
    if let Some(text) = options.eraseinfo.as_ref().filter(|t| !t.is_empty()) {
        write_eraseinfo(&mut out, options, geometry, &mut pages, &mut sub, text)?;
    }
    out.sink.finish()?;
    Ok(WriteSummary {
        max_mapnr: geometry.max_mapnr,
        dumped_pages: plan.dumped_pages,
        zero_pages: pages.zero_pages,
        compressed_pages: pages.compressed_pages,
        descriptors_offset: geometry.descriptors_offset,
        data_offset: geometry.data_offset,
        end: out.end,
        writes: out.writes,
    })
}

/// Where everything goes and how the sequence runs, from the input and the options.
struct SequencePlan {
    /// Where the structures lie.
    geometry: DumpGeometry,
    /// Pfns per cycle (`max_mapnr` in the non-cyclic mode: one cycle).
    cycle_pfns: u64,
    /// The pfns whose pages this file holds (`[0, max_mapnr)` without `--split`).
    split: (u64, u64),
    /// makedumpfile's `num_dumpable`: the whole dump's, in every file of a split set.
    dumped_pages: u64,
    /// Bytes of each cache.
    cache_size: usize,
}

/// Checks the page size, the blocks, `max_mapnr`, the cyclic buffer, the split range, that some page is
/// dumpable and the cache size, in that order, and places the structures.
fn plan_sequence(
    blocks: &[GuestBlock<'_>],
    is_dumped: &dyn Fn(u64) -> bool,
    notes: &[u8],
    options: &MakedumpfileOptions,
) -> Result<SequencePlan, WriteError> {
    let ps = options.page_size;
    check_page_size(ps)?;
    let memory_end = check_blocks(blocks, ps)?.div_ceil(ps);
    let max_mapnr = match options.max_mapnr {
        Some(m) if m < memory_end => {
            return Err(WriteError::Input(format!(
                "max_mapnr {m:#x} is below the end of memory (pfn {memory_end:#x})"
            )))
        }
        Some(m) => m,
        None => memory_end,
    };
    let cycle_pfns = match options.cyclic_buffer {
        Some(0) => return Err(WriteError::Input("cyclic buffer of 0 bytes".into())),
        Some(bytes) => bytes
            .checked_mul(8)
            .ok_or_else(|| WriteError::Input(format!("cyclic buffer of {bytes} bytes")))?,
        None => max_mapnr,
    };
    let split = match options.split {
        Some((start, end)) if start > end || end > max_mapnr => {
            return Err(WriteError::Input(format!(
                "split range [{start:#x}, {end:#x}) is not within [0, max_mapnr {max_mapnr:#x})"
            )))
        }
        Some(range) => range,
        None => (0, max_mapnr),
    };
    let dumped_pages = memory_pfns(blocks, ps)
        .filter(|&(pfn, _)| is_dumped(pfn))
        .count() as u64;
    if dumped_pages == 0 {
        return Err(WriteError::Input(
            "no page is dumpable (makedumpfile refuses to write such a dump)".into(),
        ));
    }
    let geometry = DumpGeometry::new(options.abi, ps, notes.len() as u64, max_mapnr, dumped_pages);
    let cache_size = ps
        .checked_shl(options.block_order)
        .filter(|&size| size >> options.block_order == ps && size <= 1 << 30)
        .ok_or_else(|| {
            WriteError::Input(format!(
                "block order {} makes caches beyond 1 GiB",
                options.block_order
            ))
        })? as usize;
    Ok(SequencePlan {
        geometry,
        cycle_pfns,
        split,
        dumped_pages,
        cache_size,
    })
}

/// Checks that the blocks are page-aligned, non-empty and ascending; returns the end of the last one.
fn check_blocks(blocks: &[GuestBlock<'_>], ps: u64) -> Result<u64, WriteError> {
    let mut previous_end = 0u64;
    for (i, block) in blocks.iter().enumerate() {
        if block.start % ps != 0 || block.len == 0 || block.start < previous_end {
            return Err(WriteError::Input(format!(
                "block {i} ({:#x}, {} bytes) is unaligned, empty or out of order",
                block.start, block.len
            )));
        }
        previous_end = block.start + block.len;
    }
    Ok(previous_end)
}

/// Every pfn in memory with its block, ascending.
fn memory_pfns<'s, 'a>(
    blocks: &'s [GuestBlock<'a>],
    ps: u64,
) -> impl Iterator<Item = (u64, &'s GuestBlock<'a>)> + 's {
    blocks.iter().flat_map(move |b| {
        let first = b.start / ps;
        (first..first + b.len.div_ceil(ps)).map(move |pfn| (pfn, b))
    })
}

/// `for_each_cycle(0, max_mapnr)`: cycles of `cycle_pfns` pfns (non-cyclic mode: one cycle).
fn cycles(plan: &SequencePlan) -> impl Iterator<Item = (u64, u64)> {
    let (cycle_pfns, max_mapnr) = (plan.cycle_pfns, plan.geometry.max_mapnr);
    (0..max_mapnr.div_ceil(cycle_pfns))
        .map(move |i| (i * cycle_pfns, ((i + 1) * cycle_pfns).min(max_mapnr)))
}

/// Step 1: `disk_dump_header` at 0; the ELF notes at PS + sizeof(sub-header); `kdump_sub_header` at PS
/// (with `--split`: `split` = 1 and the file's pfn range). Returns the sub-header's fields for step 6.
fn write_headers(
    out: &mut Counting<'_>,
    options: &MakedumpfileOptions,
    plan: &SequencePlan,
    notes: &[u8],
) -> Result<SubHeaderFields, WriteError> {
    let (abi, endian) = (options.abi, options.endian);
    let geometry = &plan.geometry;
    let ps = geometry.page_size;
    let header = HeaderFields {
        header_version: 6,
        utsname: options.utsname.clone(),
        timestamp: options.timestamp,
        status: options.compression.flag(),
        block_size: ps as u32,
        sub_hdr_size: geometry.sub_hdr_size_field()?,
        bitmap_blocks: geometry.bitmap_blocks_field()?,
        max_mapnr: geometry.max_mapnr_field(),
        nr_cpus: options.nr_cpus,
    };
    out.write(0, &encode_header(abi, endian, &header))?;
    let mut sub = SubHeaderFields {
        phys_base: options.phys_base,
        dump_level: u32::from(options.dump_level),
        max_mapnr_64: geometry.max_mapnr,
        ..Default::default()
    };
    if options.split.is_some() {
        let (split_start, split_end) = plan.split;
        // The legacy fields are MIN(pfn, UINT_MAX), "only for compatibility".
        sub.split = 1;
        sub.start_pfn = split_start.min(u64::from(u32::MAX));
        sub.end_pfn = split_end.min(u64::from(u32::MAX));
        sub.start_pfn_64 = split_start;
        sub.end_pfn_64 = split_end;
    }
    if !notes.is_empty() {
        sub.offset_note = ps + abi.sub_header_size();
        sub.size_note = notes.len() as u64;
        out.write(sub.offset_note, notes)?;
        if let Some((desc_at, size)) = trailing_vmcoreinfo(notes, endian) {
            sub.offset_vmcoreinfo = sub.offset_note + desc_at;
            sub.size_vmcoreinfo = size;
        }
    }
    out.write(ps, &encode_sub_header(abi, endian, &sub))?;
    Ok(sub)
}

/// Both bitmaps, whole: bitmap 1 has a bit for every pfn in memory, bitmap 2 for every dumped one.
fn build_bitmaps(
    blocks: &[GuestBlock<'_>],
    is_dumped: &dyn Fn(u64) -> bool,
    geometry: &DumpGeometry,
) -> (Vec<u8>, Vec<u8>) {
    let mut bitmap1 = vec![0u8; geometry.bitmap_len as usize];
    let mut bitmap2 = vec![0u8; geometry.bitmap_len as usize];
    for (pfn, _) in memory_pfns(blocks, geometry.page_size) {
        let (byte, bit) = ((pfn / 8) as usize, pfn % 8);
        bitmap1[byte] |= 1 << bit;
        if is_dumped(pfn) {
            bitmap2[byte] |= 1 << bit;
        }
    }
    (bitmap1, bitmap2)
}

/// One cycle's part of a bitmap at `at`: the non-cyclic mode copies the whole bitmap (trailing zeros
/// included) from its file in [`BUFSIZE_BITMAP`] pieces; the cyclic mode writes the cycle's bytes at once.
fn write_bitmap_part(
    out: &mut Counting<'_>,
    options: &MakedumpfileOptions,
    at: u64,
    bitmap: &[u8],
    (start, end): (u64, u64),
) -> io::Result<()> {
    if options.cyclic_buffer.is_none() {
        for (i, piece) in bitmap.chunks(BUFSIZE_BITMAP).enumerate() {
            out.write(at + (i * BUFSIZE_BITMAP) as u64, piece)?;
        }
        return Ok(());
    }
    let first = (start / 8) as usize;
    out.write(
        at,
        &bitmap[first..first + (end - start).div_ceil(8) as usize],
    )
}

/// Step 3: bitmap 1, cycle by cycle (`write_kdump_bitmap1`): cycle i at its place, i·cyclic_buffer.
fn write_bitmap1(
    out: &mut Counting<'_>,
    options: &MakedumpfileOptions,
    plan: &SequencePlan,
    bitmap1: &[u8],
) -> io::Result<()> {
    for (i, cycle) in cycles(plan).enumerate() {
        let at = plan.geometry.bitmap_offset + options.cyclic_buffer.unwrap_or(0) * i as u64;
        write_bitmap_part(out, options, at, bitmap1, cycle)?;
    }
    Ok(())
}

/// Step 4: per cycle, bitmap 2's part (right after the previous one) and then the cycle's pages in pfn
/// order (`write_kdump_pages_cyclic`), only those of the split range.
fn write_cycles(
    out: &mut Counting<'_>,
    options: &MakedumpfileOptions,
    plan: &SequencePlan,
    bitmap2: &[u8],
    blocks: &[GuestBlock<'_>],
    is_dumped: &dyn Fn(u64) -> bool,
    pages: &mut PageWriter,
) -> Result<(), WriteError> {
    let geometry = &plan.geometry;
    let (split_start, split_end) = plan.split;
    let mut bitmap2_at = geometry.bitmap_offset + geometry.bitmap_len;
    let mut memory = memory_pfns(blocks, geometry.page_size).peekable();
    for (start, end) in cycles(plan) {
        write_bitmap_part(out, options, bitmap2_at, bitmap2, (start, end))?;
        bitmap2_at += (end - start).div_ceil(8);
        while let Some((pfn, block)) = memory.next_if(|&(pfn, _)| pfn < end) {
            if (split_start..split_end).contains(&pfn) && is_dumped(pfn) {
                pages.write_page(out, pfn, block)?;
            }
        }
    }
    Ok(())
}

/// Step 6: the eraseinfo lines through the data cache from the end of the data, the remainder, then the
/// sub-header again with `offset_eraseinfo`/`size_eraseinfo` (a second record over the same range).
fn write_eraseinfo(
    out: &mut Counting<'_>,
    options: &MakedumpfileOptions,
    geometry: &DumpGeometry,
    pages: &mut PageWriter,
    sub: &mut SubHeaderFields,
    text: &str,
) -> io::Result<()> {
    let offset_eraseinfo = pages.data.offset;
    for line in text.split_inclusive('\n') {
        pages.data.put(out, line.as_bytes())?;
    }
    pages.data.flush_remainder(out)?;
    sub.offset_eraseinfo = offset_eraseinfo;
    sub.size_eraseinfo = text.len() as u64;
    out.write(
        geometry.page_size,
        &encode_sub_header(options.abi, options.endian, sub),
    )
}
