//! makedumpfile's kdump-compressed write sequence (`writeout_dumpfile` → `write_kdump_header`,
//! `write_kdump_pages_and_bitmap_cyclic`, `write_kdump_eraseinfo` in makedumpfile.c), one cycle:
//!
//! 1. `disk_dump_header` at 0; the ELF notes at PS + sizeof(sub-header) (before the sub-header);
//!    `kdump_sub_header` at PS.
//! 2. The shared zero page goes first into the data cache (dump level bit 1 only).
//! 3. Bitmap 1 as one write of ceil(max_mapnr/8) bytes at its start, then bitmap 2 likewise (the rest of
//!    each bitmap's blocks stays a hole).
//! 4. Pages in pfn order: the descriptor into the descriptor cache, the data into the data cache. Both
//!    caches are PS·16 bytes (`-b 4`, the default block order) and write out exactly that many bytes when
//!    full, keeping the overflow; zero pages (with bit 1) get the shared zero page's descriptor.
//! 5. The data cache's remainder, then the descriptor cache's remainder.
//! 6. With eraseinfo: its lines through the data cache from the end of the data, the remainder, then the
//!    sub-header again, now with `offset_eraseinfo`/`size_eraseinfo` (a second record over the same range).

use std::io;

use crate::sink::DumpSink;

use super::encode::{
    encode_header, encode_page_desc, encode_sub_header, HeaderFields, StructAbi, SubHeaderFields,
    PAGE_DESC_SIZE,
};
use super::layout::{Layout, LayoutError};
use super::notes::{note_section, trailing_vmcoreinfo};
use super::qemu::{WriteError, WriteSummary};
use super::store_page;

/// makedumpfile's default block order (`-b`): caches of `page_size << 4` bytes.
pub const DEFAULT_BLOCK_ORDER: u32 = 4;

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

    fn put(&mut self, out: &mut Out<'_>, item: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(item);
        if self.buf.len() < self.capacity {
            return Ok(());
        }
        out.write(self.offset, &self.buf[..self.capacity])?;
        self.buf.drain(..self.capacity);
        self.offset += self.capacity as u64;
        Ok(())
    }

    fn flush_remainder(&mut self, out: &mut Out<'_>) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        out.write(self.offset, &self.buf)?;
        self.offset += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

struct Out<'s> {
    sink: &'s mut dyn DumpSink,
    writes: u64,
    end: u64,
}

impl Out<'_> {
    fn write(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.writes += 1;
        self.end = self.end.max(offset + data.len() as u64);
        self.sink.write_at(offset, data)
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

/// Writes `layout` as makedumpfile would, through `sink` (then calls `sink.finish()`).
pub fn write_makedumpfile_kdump(
    layout: &Layout,
    sink: &mut dyn DumpSink,
) -> Result<WriteSummary, WriteError> {
    layout
        .validate()
        .map_err(|e: LayoutError| WriteError::Input(e.to_string()))?;
    let ps = layout.page_bytes();
    let abi = makedumpfile_abi(layout);
    let endian = layout.machine.endian();
    let notes = note_section(layout);
    let note_size = notes.len() as u64;
    let max_mapnr = layout.max_mapnr();
    let bitmap_len = max_mapnr.div_ceil(8).div_ceil(ps) * ps;
    let sub_hdr_blocks = (abi.sub_header_size() + note_size).div_ceil(ps);
    let bitmap_offset = (1 + sub_hdr_blocks) * ps;
    let descriptors_offset = bitmap_offset + 2 * bitmap_len;
    let dumped_pages = layout.dumped_pages();
    let data_offset = descriptors_offset + PAGE_DESC_SIZE * dumped_pages;
    let cache_size = (ps << DEFAULT_BLOCK_ORDER) as usize;

    let mut out = Out {
        sink,
        writes: 0,
        end: 0,
    };

    // 1. Header, notes, sub-header.
    let uts = &layout.utsname;
    let header = HeaderFields {
        header_version: 6,
        utsname: [
            uts.sysname.clone(),
            uts.nodename.clone(),
            uts.release.clone(),
            uts.version.clone(),
            layout.uts_machine().to_string(),
            uts.domainname.clone(),
        ],
        timestamp: (u64::from(layout.timestamp.0), u64::from(layout.timestamp.1)),
        status: layout.compression.flag(),
        block_size: ps as u32,
        sub_hdr_size: sub_hdr_blocks as u32,
        bitmap_blocks: (2 * bitmap_len / ps) as u32,
        max_mapnr: max_mapnr.min(u64::from(u32::MAX)) as u32,
        nr_cpus: layout.notes.cpus,
    };
    out.write(0, &encode_header(abi, endian, &header))?;
    let mut sub = SubHeaderFields {
        phys_base: layout.phys_base,
        dump_level: u32::from(layout.dump_level),
        max_mapnr_64: max_mapnr,
        ..Default::default()
    };
    if !notes.is_empty() {
        sub.offset_note = ps + abi.sub_header_size();
        sub.size_note = note_size;
        out.write(sub.offset_note, &notes)?;
        if let Some((desc_at, size)) = trailing_vmcoreinfo(&notes, endian) {
            sub.offset_vmcoreinfo = sub.offset_note + desc_at;
            sub.size_vmcoreinfo = size;
        }
    }
    out.write(ps, &encode_sub_header(abi, endian, &sub))?;

    // 2. The shared zero page.
    let mut descriptors = MdfCache::new(descriptors_offset, cache_size);
    let mut data = MdfCache::new(data_offset, cache_size);
    let mut next_data = data_offset;
    let shares_zero = layout.shares_zero_page();
    let zero_desc = encode_page_desc(endian, data_offset, ps as u32, 0);
    if shares_zero {
        data.put(&mut out, &vec![0u8; ps as usize])?;
        next_data += ps;
    }

    // 3. Bitmaps, one cycle each.
    let bitmap_bytes = max_mapnr.div_ceil(8) as usize;
    let mut bitmap1 = vec![0u8; bitmap_bytes];
    let mut bitmap2 = vec![0u8; bitmap_bytes];
    for page in layout.pages() {
        let (byte, bit) = ((page.pfn / 8) as usize, page.pfn % 8);
        bitmap1[byte] |= 1 << bit;
        if !layout.excludes(page.class) {
            bitmap2[byte] |= 1 << bit;
        }
    }
    out.write(bitmap_offset, &bitmap1)?;
    out.write(bitmap_offset + bitmap_len, &bitmap2)?;

    // 4. Pages.
    let mut zero_pages = 0;
    let mut compressed_pages = 0;
    for page in layout.pages() {
        if layout.excludes(page.class) {
            continue;
        }
        let bytes = page.bytes(ps);
        if shares_zero && bytes.iter().all(|&b| b == 0) {
            descriptors.put(&mut out, &zero_desc)?;
            zero_pages += 1;
            continue;
        }
        let (flags, stored) = store_page(layout.compression, &bytes);
        if flags != 0 {
            compressed_pages += 1;
        }
        let desc = encode_page_desc(endian, next_data, stored.len() as u32, flags);
        next_data += stored.len() as u64;
        descriptors.put(&mut out, &desc)?;
        data.put(&mut out, &stored)?;
    }

    // 5. Remainders: data first, then descriptors.
    data.flush_remainder(&mut out)?;
    descriptors.flush_remainder(&mut out)?;

    // 6. Eraseinfo and the sub-header rewrite.
    if let Some(text) = layout.eraseinfo.as_ref().filter(|t| !t.is_empty()) {
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
