//! makedumpfile's kdump-compressed write sequence (`writeout_dumpfile` → `write_kdump_header`,
//! `write_kdump_pages_and_bitmap_cyclic`, `write_kdump_eraseinfo` in makedumpfile.c), one cycle:
//!
//! 1. `disk_dump_header` at 0; the ELF notes at PS + sizeof(sub-header) (before the sub-header);
//!    `kdump_sub_header` at PS.
//! 2. The shared zero page goes first into the data cache (dump level bit 1 only).
//! 3. Bitmap 1 whole (all its blocks, trailing zeros included) in 4096-byte pieces (`BUFSIZE_BITMAP`,
//!    copied from makedumpfile's bitmap file), then bitmap 2 likewise. This is what makedumpfile 1.7.2 and
//!    1.7.6 did for the dumps in corpus/real; its cyclic-buffer mode (one write per bitmap per cycle) is not
//!    modelled.
//! 4. Pages in pfn order (`write_kdump_page`): when the descriptor cache plus 24 bytes, or the data cache
//!    plus the stored page, would reach the cache size, both caches are written out (descriptors first);
//!    then the descriptor goes into the descriptor cache and the data into the data cache. Zero pages (dump
//!    level bit 1) only add the shared zero page's descriptor, through `write_cache`, which writes exactly
//!    the cache size when the buffer reaches it and keeps the overflow. Caches are PS·16 bytes (`-b 4`,
//!    the default block order).
//! 5. The data cache's remainder, then the descriptor cache's remainder.
//! 6. With eraseinfo: its lines through the data cache from the end of the data, the remainder, then the
//!    sub-header again, now with `offset_eraseinfo`/`size_eraseinfo` (a second record over the same range).

use std::io;

use crate::sink::DumpSink;

use super::encode::{
    encode_header, encode_page_desc, encode_sub_header, HeaderFields, StructAbi, SubHeaderFields,
    PAGE_DESC_SIZE,
};
use crate::compress::Compression;

use super::layout::{Endian, Layout, LayoutError};
use super::notes::{note_section, trailing_vmcoreinfo};
use super::qemu::{Counting, GuestBlock, WriteError, WriteSummary};
use super::store_page;

/// makedumpfile's default block order (`-b`): caches of `page_size << 4` bytes.
pub const DEFAULT_BLOCK_ORDER: u32 = 4;
/// `BUFSIZE_BITMAP`: the bitmaps are copied from makedumpfile's bitmap file in pieces of this size.
pub const BUFSIZE_BITMAP: usize = 4096;

/// makedumpfile's `cache_data`: writes exactly `capacity` bytes whenever the buffer reaches it.
struct MdfCache {
    offset: u64,
    buf: Vec<u8>,
    capacity: usize,
}

impl MdfCache {
    fn new(offset: u64, capacity: usize) -> Self {
        MdfCache {
            offset,
            buf: Vec::with_capacity(2 * capacity),
            capacity,
        }
    }

    fn put(&mut self, out: &mut Counting<'_>, item: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(item);
        if self.buf.len() < self.capacity {
            return Ok(());
        }
        out.write(self.offset, &self.buf[..self.capacity])?;
        self.buf.drain(..self.capacity);
        self.offset += self.capacity as u64;
        Ok(())
    }

    fn flush_remainder(&mut self, out: &mut Counting<'_>) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        out.write(self.offset, &self.buf)?;
        self.offset += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

/// The structure layout makedumpfile built for this machine would use.
pub fn makedumpfile_abi(layout: &Layout) -> StructAbi {
    if layout.machine.is_64bit() {
        StructAbi::Lp64
    } else if layout.machine.packs_u64_to_4() {
        StructAbi::Ilp32Packed
    } else {
        StructAbi::Ilp32Padded
    }
}

/// The dump-wide values makedumpfile writes, whatever the memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakedumpfileOptions {
    /// Structure layout (64-bit, i386-packed or padded 32-bit).
    pub abi: StructAbi,
    /// The dumped machine's byte order.
    pub endian: Endian,
    /// Page size = block size.
    pub page_size: u64,
    /// Page compression.
    pub compression: Compression,
    /// `dump_level` (bit 1: zero pages share one stored zero page).
    pub dump_level: u8,
    /// `nr_cpus` (makedumpfile counts the `NT_PRSTATUS` notes).
    pub nr_cpus: u32,
    /// `phys_base`.
    pub phys_base: u64,
    /// utsname: sysname, nodename, release, version, machine, domainname.
    pub utsname: [String; 6],
    /// Header timestamp (seconds, microseconds).
    pub timestamp: (u64, u64),
    /// Eraseinfo text, written after the page data.
    pub eraseinfo: Option<String>,
    /// `max_mapnr` from the kernel's memory model, when it reaches beyond the last block (`None`: the
    /// end of the last block). Blocks must end at or below it.
    pub max_mapnr: Option<u64>,
}

/// The makedumpfile options a layout implies.
pub fn makedumpfile_options(layout: &Layout) -> MakedumpfileOptions {
    let uts = &layout.utsname;
    MakedumpfileOptions {
        abi: makedumpfile_abi(layout),
        endian: layout.machine.endian(),
        page_size: layout.page_bytes(),
        compression: layout.compression,
        dump_level: layout.dump_level,
        nr_cpus: layout.notes.cpus,
        phys_base: layout.phys_base,
        utsname: [
            uts.sysname.clone(),
            uts.nodename.clone(),
            uts.release.clone(),
            uts.version.clone(),
            layout.uts_machine().to_string(),
            uts.domainname.clone(),
        ],
        timestamp: (u64::from(layout.timestamp.0), u64::from(layout.timestamp.1)),
        eraseinfo: layout.eraseinfo.clone(),
        max_mapnr: Some(layout.max_mapnr()),
    }
}

/// Writes `layout` as makedumpfile would, through `sink` (then calls `sink.finish()`).
pub fn write_makedumpfile_kdump(
    layout: &Layout,
    sink: &mut dyn DumpSink,
) -> Result<WriteSummary, WriteError> {
    layout
        .validate()
        .map_err(|e: LayoutError| WriteError::Input(e.to_string()))?;
    let memories = super::block_memories(layout);
    let blocks = super::guest_blocks(layout, &memories);
    let excluded: Vec<u64> = layout
        .pages()
        .filter(|p| layout.excludes(p.class))
        .map(|p| p.pfn)
        .collect();
    let is_dumped = |pfn: u64| excluded.binary_search(&pfn).is_err();
    write_makedumpfile_kdump_from(
        &blocks,
        &is_dumped,
        &note_section(layout),
        &makedumpfile_options(layout),
        sink,
    )
}

/// Writes a dump of `blocks` (pfns for which `is_dumped` is false are left out, as the dump level would)
/// with ELF `notes` exactly as makedumpfile's single-cycle kdump writer does, through `sink` (then calls
/// `sink.finish()`).
pub fn write_makedumpfile_kdump_from(
    blocks: &[GuestBlock<'_>],
    is_dumped: &dyn Fn(u64) -> bool,
    notes: &[u8],
    options: &MakedumpfileOptions,
    sink: &mut dyn DumpSink,
) -> Result<WriteSummary, WriteError> {
    let ps = options.page_size;
    if !ps.is_power_of_two() || !(4096..=262144).contains(&ps) {
        return Err(WriteError::Input(format!(
            "page size {ps} is not a power of two in [4096, 262144]"
        )));
    }
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
    let abi = options.abi;
    let endian = options.endian;
    let note_size = notes.len() as u64;
    let memory_end = previous_end.div_ceil(ps);
    let max_mapnr = match options.max_mapnr {
        Some(m) if m < memory_end => {
            return Err(WriteError::Input(format!(
                "max_mapnr {m:#x} is below the end of memory (pfn {memory_end:#x})"
            )))
        }
        Some(m) => m,
        None => memory_end,
    };
    let pfns = || {
        blocks.iter().flat_map(move |b| {
            let first = b.start / ps;
            (first..first + b.len.div_ceil(ps)).map(move |pfn| (pfn, b))
        })
    };
    let dumped_pages = pfns().filter(|&(pfn, _)| is_dumped(pfn)).count() as u64;
    if dumped_pages == 0 {
        return Err(WriteError::Input(
            "no page is dumpable (makedumpfile refuses to write such a dump)".into(),
        ));
    }
    let bitmap_len = max_mapnr.div_ceil(8).div_ceil(ps) * ps;
    let sub_hdr_blocks = (abi.sub_header_size() + note_size).div_ceil(ps);
    let bitmap_offset = (1 + sub_hdr_blocks) * ps;
    let descriptors_offset = bitmap_offset + 2 * bitmap_len;
    let data_offset = descriptors_offset + PAGE_DESC_SIZE * dumped_pages;
    let cache_size = (ps << DEFAULT_BLOCK_ORDER) as usize;
    let too_big = |what: &str| WriteError::Input(format!("{what} does not fit its 32-bit field"));

    let mut out = Counting::new(sink);

    // 1. Header, notes, sub-header.
    let header = HeaderFields {
        header_version: 6,
        utsname: options.utsname.clone(),
        timestamp: options.timestamp,
        status: options.compression.flag(),
        block_size: ps as u32,
        sub_hdr_size: u32::try_from(sub_hdr_blocks).map_err(|_| too_big("sub_hdr_size"))?,
        bitmap_blocks: u32::try_from(2 * bitmap_len / ps).map_err(|_| too_big("bitmap_blocks"))?,
        max_mapnr: max_mapnr.min(u64::from(u32::MAX)) as u32,
        nr_cpus: options.nr_cpus,
    };
    out.write(0, &encode_header(abi, endian, &header))?;
    let mut sub = SubHeaderFields {
        phys_base: options.phys_base,
        dump_level: u32::from(options.dump_level),
        max_mapnr_64: max_mapnr,
        ..Default::default()
    };
    if !notes.is_empty() {
        sub.offset_note = ps + abi.sub_header_size();
        sub.size_note = note_size;
        out.write(sub.offset_note, notes)?;
        if let Some((desc_at, size)) = trailing_vmcoreinfo(notes, endian) {
            sub.offset_vmcoreinfo = sub.offset_note + desc_at;
            sub.size_vmcoreinfo = size;
        }
    }
    out.write(ps, &encode_sub_header(abi, endian, &sub))?;

    // 2. The shared zero page.
    let mut descriptors = MdfCache::new(descriptors_offset, cache_size);
    let mut data = MdfCache::new(data_offset, cache_size);
    let mut next_data = data_offset;
    let shares_zero = options.dump_level & 1 != 0;
    let zero_desc = encode_page_desc(endian, data_offset, ps as u32, 0);
    if shares_zero {
        data.put(&mut out, &vec![0u8; ps as usize])?;
        next_data += ps;
    }

    // 3. Bitmaps, whole, from the bitmap file in BUFSIZE_BITMAP pieces: bitmap 1, then bitmap 2.
    let mut bitmap1 = vec![0u8; bitmap_len as usize];
    let mut bitmap2 = vec![0u8; bitmap_len as usize];
    for (pfn, _) in pfns() {
        let (byte, bit) = ((pfn / 8) as usize, pfn % 8);
        bitmap1[byte] |= 1 << bit;
        if is_dumped(pfn) {
            bitmap2[byte] |= 1 << bit;
        }
    }
    for (start, bitmap) in [
        (bitmap_offset, &bitmap1),
        (bitmap_offset + bitmap_len, &bitmap2),
    ] {
        for (i, piece) in bitmap.chunks(BUFSIZE_BITMAP).enumerate() {
            out.write(start + (i * BUFSIZE_BITMAP) as u64, piece)?;
        }
    }

    // 4. Pages.
    let mut zero_pages = 0;
    let mut compressed_pages = 0;
    let mut page = vec![0u8; ps as usize];
    for (pfn, block) in pfns() {
        if !is_dumped(pfn) {
            continue;
        }
        let within = pfn * ps - block.start;
        let valid = (block.len - within).min(ps) as usize;
        page[valid..].fill(0);
        block
            .data
            .read_exact_at(block.data_offset + within, &mut page[..valid])?;
        if shares_zero && page.iter().all(|&b| b == 0) {
            descriptors.put(&mut out, &zero_desc)?;
            zero_pages += 1;
            continue;
        }
        let (flags, stored) = store_page(options.compression, &page);
        if flags != 0 {
            compressed_pages += 1;
        }
        let desc = encode_page_desc(endian, next_data, stored.len() as u32, flags);
        next_data += stored.len() as u64;
        // write_kdump_page: when either cache is nearly full, both are written out first.
        if descriptors.buf.len() + desc.len() >= cache_size
            || data.buf.len() + stored.len() >= cache_size
        {
            descriptors.flush_remainder(&mut out)?;
            data.flush_remainder(&mut out)?;
        }
        descriptors.put(&mut out, &desc)?;
        data.put(&mut out, &stored)?;
    }

    // 5. Remainders: data first, then descriptors.
    data.flush_remainder(&mut out)?;
    descriptors.flush_remainder(&mut out)?;

    // 6. Eraseinfo and the sub-header rewrite.
    if let Some(text) = options.eraseinfo.as_ref().filter(|t| !t.is_empty()) {
        let offset_eraseinfo = data.offset;
        for line in text.split_inclusive('\n') {
            data.put(&mut out, line.as_bytes())?;
        }
        data.flush_remainder(&mut out)?;
        sub.offset_eraseinfo = offset_eraseinfo;
        sub.size_eraseinfo = text.len() as u64;
        out.write(ps, &encode_sub_header(abi, endian, &sub))?;
    }
    out.sink.finish()?;
    Ok(WriteSummary {
        max_mapnr,
        dumped_pages,
        zero_pages,
        compressed_pages,
        descriptors_offset,
        data_offset,
        end: out.end,
        writes: out.writes,
    })
}
