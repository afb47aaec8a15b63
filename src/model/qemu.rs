//! QEMU's kdump write sequence (`create_kdump_vmcore` in QEMU's `dump/dump.c`), call for call: every
//! `write_buffer(offset, bytes)` QEMU makes becomes one [`DumpSink::write_at`]. Sent into a
//! [`FlatSink`](crate::sink::FlatSink) it gives QEMU's `kdump-zlib` file, into a
//! [`RawSink`](crate::sink::RawSink) its `kdump-raw-zlib` file.
//!
//! The sequence (FORMATS.md §3): header at 0, sub-header at PS, notes at PS + sizeof(sub-header); bitmap
//! chunks of PS bytes, each chunk written for bitmap 1 and then for bitmap 2, from chunk 0 to the chunk of
//! the last pfn; then page descriptors (at P) and page data (at Q = P + 24·D) through two caches of 4·PS
//! bytes, the shared zero page first in the data cache; descriptors flush, then data.
//!
//! Where the model goes beyond what QEMU can produce, it says so: compression `none` and `zstd` (QEMU has
//! neither for kdump), blocks whose end is not page-aligned (QEMU asserts alignment; the model stores the
//! partial last page padded with zeros), and an empty note section (QEMU always has CPU notes; the model
//! then skips the notes write instead of emitting an empty record).

use std::io;

use crate::compress::Compression;
use crate::readat::ReadAt;
use crate::sink::DumpSink;

use super::encode::{
    encode_header, encode_page_desc, encode_sub_header, HeaderFields, StructAbi, SubHeaderFields,
    PAGE_DESC_SIZE,
};
use super::layout::Endian;
use super::notes::trailing_vmcoreinfo;
use super::store_page;

/// One block of guest-physical memory, as QEMU's `GuestPhysBlock`: `len` bytes at physical address
/// `start`, read from `data` at `data_offset`.
pub struct GuestBlock<'a> {
    /// Guest-physical start address (page-aligned).
    pub start: u64,
    /// Length in bytes (QEMU: a multiple of the page size; otherwise the last page is zero-padded).
    pub len: u64,
    /// Where the block's bytes are.
    pub data: &'a dyn ReadAt,
    /// Offset of the block's first byte in `data`.
    pub data_offset: u64,
}

/// The dump-wide values QEMU takes from the guest and the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuDumpOptions {
    /// True for an ELFCLASS64 guest (64-bit structures), false for ELFCLASS32 (QEMU's packed 32-bit ones).
    pub is_64bit: bool,
    /// The guest's byte order.
    pub endian: Endian,
    /// Target page size = block size (4096 on x86).
    pub page_size: u64,
    /// Page compression (`kdump-zlib` = zlib).
    pub compression: Compression,
    /// Number of vCPUs (`nr_cpus`).
    pub nr_cpus: u32,
    /// `phys_base` for the sub-header.
    pub phys_base: u64,
    /// `utsname.machine`: "x86_64" in QEMU 7.2, "Unknown" since 8.0.
    pub uts_machine: String,
}

/// What a write sequence produced, for callers and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteSummary {
    /// `max_mapnr`.
    pub max_mapnr: u64,
    /// Pages with a descriptor (bits in bitmap 2), D.
    pub dumped_pages: u64,
    /// Pages stored as the shared zero page.
    pub zero_pages: u64,
    /// Pages stored compressed.
    pub compressed_pages: u64,
    /// Offset of the page descriptors, P.
    pub descriptors_offset: u64,
    /// Offset of the page data, Q.
    pub data_offset: u64,
    /// End of the last byte written: the raw file's length.
    pub end: u64,
    /// Number of `write_at` calls (flattened records).
    pub writes: u64,
}

/// Why a write sequence could not run.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The input cannot be dumped (unaligned or unordered blocks, no memory, bad page size).
    #[error("cannot write this dump: {0}")]
    Input(String),
    /// Reading memory or writing the output failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A sink wrapper that counts writes and tracks the end (both writers report them in [`WriteSummary`]).
pub(crate) struct Counting<'s> {
    /// The wrapped sink.
    pub(crate) sink: &'s mut dyn DumpSink,
    /// Writes so far.
    pub(crate) writes: u64,
    /// Largest `offset + len` written so far.
    pub(crate) end: u64,
}

impl<'s> Counting<'s> {
    /// Wraps `sink` with no writes counted yet.
    pub(crate) fn new(sink: &'s mut dyn DumpSink) -> Self {
        Counting {
            sink,
            writes: 0,
            end: 0,
        }
    }

    /// Writes `data` at `offset` through the sink, counting it.
    pub(crate) fn write(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.writes += 1;
        self.end = self.end.max(offset + data.len() as u64);
        self.sink.write_at(offset, data)
    }
}

/// QEMU's `DataCache`: fills a buffer of `capacity` bytes and writes it out whole when the next item would
/// not fit (so records have variable length, at most `capacity`).
struct QemuCache {
    offset: u64,
    buf: Vec<u8>,
    capacity: usize,
}

impl QemuCache {
    fn new(offset: u64, capacity: usize) -> Self {
        QemuCache {
            offset,
            buf: Vec::with_capacity(capacity),
            capacity,
        }
    }

    fn put(&mut self, out: &mut Counting<'_>, item: &[u8]) -> io::Result<()> {
        if self.buf.len() + item.len() > self.capacity {
            self.sync(out)?;
        }
        self.buf.extend_from_slice(item);
        Ok(())
    }

    fn sync(&mut self, out: &mut Counting<'_>) -> io::Result<()> {
        if !self.buf.is_empty() {
            out.write(self.offset, &self.buf)?;
            self.offset += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }
}

/// Writes a kdump-compressed dump of `blocks` with ELF `notes` exactly as QEMU's `create_kdump_vmcore`
/// does, through `sink` (then calls `sink.finish()`).
///
/// `notes` is the whole note section (per CPU `NT_PRSTATUS`, per CPU "QEMU", then the guest's
/// VMCOREINFO note if any): if its last note is named "VMCOREINFO", the sub-header points at its
/// descriptor, as QEMU does with its `guest_note`.
pub fn write_qemu_kdump(
    blocks: &[GuestBlock<'_>],
    notes: &[u8],
    options: &QemuDumpOptions,
    sink: &mut dyn DumpSink,
) -> Result<WriteSummary, WriteError> {
    let ps = options.page_size;
    if !ps.is_power_of_two() || !(4096..=262144).contains(&ps) {
        return Err(WriteError::Input(format!(
            "page size {ps} is not a power of two in [4096, 262144]"
        )));
    }
    if blocks.is_empty() || blocks.iter().all(|b| b.len == 0) {
        return Err(WriteError::Input("no guest memory to dump".into()));
    }
    let mut previous_end = 0u64;
    for (i, block) in blocks.iter().enumerate() {
        if block.start % ps != 0 {
            return Err(WriteError::Input(format!(
                "block {i} starts at {:#x}, not page-aligned",
                block.start
            )));
        }
        if block.len == 0 {
            return Err(WriteError::Input(format!("block {i} is empty")));
        }
        if block.start < previous_end {
            return Err(WriteError::Input(format!(
                "block {i} at {:#x} overlaps or precedes the previous block (ends at {previous_end:#x})",
                block.start
            )));
        }
        previous_end = block
            .start
            .checked_add(block.len)
            .ok_or_else(|| WriteError::Input(format!("block {i} wraps around")))?;
    }
    let abi = if options.is_64bit {
        StructAbi::Lp64
    } else {
        StructAbi::Ilp32Packed
    };
    let endian = options.endian;
    let sub_header_size = abi.sub_header_size();
    let note_size = notes.len() as u64;
    let max_mapnr = previous_end.div_ceil(ps);
    let bitmap_len = max_mapnr.div_ceil(8).div_ceil(ps) * ps;
    let bitmap_blocks = 2 * bitmap_len / ps;
    let sub_hdr_blocks = (sub_header_size + note_size).div_ceil(ps);
    let bitmap_offset = (1 + sub_hdr_blocks) * ps;
    let descriptors_offset = bitmap_offset + 2 * bitmap_len;
    let dumped_pages: u64 = blocks.iter().map(|b| b.len.div_ceil(ps)).sum();
    let data_offset = descriptors_offset + PAGE_DESC_SIZE * dumped_pages;
    let too_big = |what: &str| WriteError::Input(format!("{what} does not fit its 32-bit field"));

    let mut out = Counting::new(sink);

    // 1. disk_dump_header.
    let header = HeaderFields {
        header_version: 6,
        utsname: [
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            options.uts_machine.clone(),
            String::new(),
        ],
        timestamp: (0, 0),
        status: options.compression.flag(),
        block_size: ps as u32,
        sub_hdr_size: u32::try_from(sub_hdr_blocks).map_err(|_| too_big("sub_hdr_size"))?,
        bitmap_blocks: u32::try_from(bitmap_blocks).map_err(|_| too_big("bitmap_blocks"))?,
        max_mapnr: max_mapnr.min(u64::from(u32::MAX)) as u32,
        nr_cpus: options.nr_cpus,
    };
    out.write(0, &encode_header(abi, endian, &header))?;

    // 2. kdump_sub_header.
    let offset_note = ps + sub_header_size;
    let (offset_vmcoreinfo, size_vmcoreinfo) = trailing_vmcoreinfo(notes, endian)
        .map_or((0, 0), |(desc_at, size)| (offset_note + desc_at, size));
    let sub = SubHeaderFields {
        phys_base: options.phys_base,
        dump_level: 1,
        offset_vmcoreinfo,
        size_vmcoreinfo,
        offset_note,
        size_note: note_size,
        max_mapnr_64: max_mapnr,
        ..Default::default()
    };
    out.write(ps, &encode_sub_header(abi, endian, &sub))?;

    // 3. Notes (QEMU always has some; an empty section would be an empty record, so the model skips it).
    if !notes.is_empty() {
        out.write(offset_note, notes)?;
    }

    // 4. Bitmaps: PS-byte chunks, bitmap 1 then bitmap 2, chunk 0 .. chunk of the last pfn.
    let bits_per_chunk = ps * 8;
    let mut chunk = vec![0u8; ps as usize];
    let mut last_pfn = 0u64;
    let mut pfn_count = 0u64;
    let flush_chunks = |out: &mut Counting<'_>,
                        chunk: &mut Vec<u8>,
                        from_pfn: u64,
                        to_pfn: u64|
     -> io::Result<()> {
        let mut old = ps * (from_pfn / bits_per_chunk);
        let new = ps * (to_pfn / bits_per_chunk);
        while old < new {
            out.write(bitmap_offset + old, chunk)?;
            out.write(bitmap_offset + bitmap_len + old, chunk)?;
            chunk.fill(0);
            old += ps;
        }
        Ok(())
    };
    for block in blocks {
        let first = block.start / ps;
        for pfn in first..first + block.len.div_ceil(ps) {
            flush_chunks(&mut out, &mut chunk, last_pfn, pfn)?;
            let bit = pfn % bits_per_chunk;
            chunk[(bit / 8) as usize] |= 1 << (bit % 8);
            last_pfn = pfn;
            pfn_count += 1;
        }
    }
    if pfn_count > 0 {
        flush_chunks(&mut out, &mut chunk, last_pfn, last_pfn + bits_per_chunk)?;
    }

    // 5. Pages through two caches of 4·PS bytes.
    let mut descriptors = QemuCache::new(descriptors_offset, 4 * ps as usize);
    let mut data = QemuCache::new(data_offset, 4 * ps as usize);
    let zero_desc = encode_page_desc(endian, data_offset, ps as u32, 0);
    let mut page = vec![0u8; ps as usize];
    data.put(&mut out, &page)?;
    let mut next_data = data_offset + ps;
    let mut zero_pages = 0;
    let mut compressed_pages = 0;
    for block in blocks {
        let mut done = 0u64;
        while done < block.len {
            let valid = (block.len - done).min(ps) as usize;
            page[valid..].fill(0);
            block
                .data
                .read_exact_at(block.data_offset + done, &mut page[..valid])?;
            done += valid as u64;
            if page.iter().all(|&b| b == 0) {
                descriptors.put(&mut out, &zero_desc)?;
                zero_pages += 1;
                continue;
            }
            let (flags, stored) = store_page(options.compression, &page);
            if flags != 0 {
                compressed_pages += 1;
            }
            data.put(&mut out, &stored)?;
            let desc = encode_page_desc(endian, next_data, stored.len() as u32, flags);
            next_data += stored.len() as u64;
            descriptors.put(&mut out, &desc)?;
        }
    }
    descriptors.sync(&mut out)?;
    data.sync(&mut out)?;
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
