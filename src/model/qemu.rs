//! QEMU's kdump write sequence (`create_kdump_vmcore` in QEMU's `dump/dump.c`), call for call: every
//! `write_buffer(offset, bytes)` QEMU makes becomes one [`DumpSink::write_at`]. Sent into a
//! [`FlatSink`](crate::sink::FlatSink) it gives QEMU's `kdump-zlib` file, into a
//! [`RawSink`](crate::sink::RawSink) its `kdump-raw-zlib` file.
//!
//! The sequence (docs/FORMATS.md §3): header at 0, sub-header at PS, notes at PS + sizeof(sub-header); bitmap
//! chunks of PS bytes, each chunk written for bitmap 1 and then for bitmap 2, from chunk 0 to the chunk of
//! the last pfn; then page descriptors (at P) and page data (at Q = P + 24·D) through two caches of 4·PS
//! bytes, the shared zero page first in the data cache; descriptors flush, then data.
//!
//! Where the model goes beyond what QEMU can produce, it says so: compression `none` and `zstd` (QEMU has
//! neither for kdump), blocks whose end is not page-aligned (QEMU asserts alignment; the model stores the
//! partial last page padded with zeros), and an empty note section (QEMU always has CPU notes; the model
//! then skips the notes write instead of emitting an empty record).
//!
//! **Why this writer lives in the model.** It is the model of QEMU's sequence: it takes plain
//! [`GuestBlock`]s and [`QemuDumpOptions`], not a [`Layout`](super::Layout), encodes with the model's own
//! encoder ([`super::encode`], independent of the reader in `crate::kdump`), and is checked byte for byte
//! against QEMU by tests/model_qemu_oracle.rs. `crate::from_elf` uses it in production for exactly that
//! reason: converting an ELF dump means replaying QEMU's sequence, and this is the replay the harness
//! checks against the reader. Moving it out would split the one implementation of QEMU's sequence from
//! the checks that vouch for it; it depends on nothing of the model but the encoder and the writers'
//! shared plumbing ([`super::write`]), so production users pull in no test machinery.

use std::io;

use crate::compress::Compression;
use crate::sink::DumpSink;

use super::encode::{
    encode_header, encode_page_desc, encode_sub_header, HeaderFields, StructAbi, SubHeaderFields,
};
use super::machine::Endian;
use super::notes::trailing_vmcoreinfo;
use super::write::{
    check_page_size, store_page, Counting, DumpGeometry, GuestBlock, WriteError, WriteSummary,
};

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
    check_page_size(ps)?;
    let memory_end = check_blocks(blocks, ps)?;
    let abi = qemu_abi(options);
    let dumped_pages: u64 = blocks.iter().map(|b| b.len.div_ceil(ps)).sum();
    let geometry = DumpGeometry::new(
        abi,
        ps,
        notes.len() as u64,
        memory_end.div_ceil(ps),
        dumped_pages,
    );
    let mut out = Counting::new(sink);
    write_header(&mut out, abi, options, &geometry)?;
    write_sub_header_and_notes(&mut out, abi, options, &geometry, notes)?;
    write_bitmaps(&mut out, blocks, &geometry)?;
    let (zero_pages, compressed_pages) = write_pages(&mut out, blocks, options, &geometry)?;
    out.sink.finish()?;
    Ok(WriteSummary {
        max_mapnr: geometry.max_mapnr,
        dumped_pages,
        zero_pages,
        compressed_pages,
        descriptors_offset: geometry.descriptors_offset,
        data_offset: geometry.data_offset,
        end: out.end,
        writes: out.writes,
    })
}

/// Checks that the blocks are page-aligned, non-empty and ascending; returns the end of the last one.
fn check_blocks(blocks: &[GuestBlock<'_>], ps: u64) -> Result<u64, WriteError> {
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
    Ok(previous_end)
}

/// QEMU's structure layout: 64-bit, or packed 32-bit structures on every 32-bit guest.
fn qemu_abi(options: &QemuDumpOptions) -> StructAbi {
    if options.is_64bit {
        StructAbi::Lp64
    } else {
        StructAbi::Ilp32Packed
    }
}

/// Step 1: `disk_dump_header` at 0 (QEMU fills only `utsname.machine`; timestamp 0).
fn write_header(
    out: &mut Counting<'_>,
    abi: StructAbi,
    options: &QemuDumpOptions,
    geometry: &DumpGeometry,
) -> Result<(), WriteError> {
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
        block_size: geometry.page_size as u32,
        sub_hdr_size: geometry.sub_hdr_size_field()?,
        bitmap_blocks: geometry.bitmap_blocks_field()?,
        max_mapnr: geometry.max_mapnr_field(),
        nr_cpus: options.nr_cpus,
    };
    out.write(0, &encode_header(abi, options.endian, &header))?;
    Ok(())
}

/// Steps 2 and 3: `kdump_sub_header` at PS (dump level 1, pointing at the notes and at a trailing
/// VMCOREINFO note's descriptor), then the notes behind it (QEMU always has some; an empty section
/// would be an empty record, so the model skips it).
fn write_sub_header_and_notes(
    out: &mut Counting<'_>,
    abi: StructAbi,
    options: &QemuDumpOptions,
    geometry: &DumpGeometry,
    notes: &[u8],
) -> io::Result<()> {
    let ps = geometry.page_size;
    let offset_note = ps + abi.sub_header_size();
    let (offset_vmcoreinfo, size_vmcoreinfo) = trailing_vmcoreinfo(notes, options.endian)
        .map_or((0, 0), |(desc_at, size)| (offset_note + desc_at, size));
    let sub = SubHeaderFields {
        phys_base: options.phys_base,
        dump_level: 1,
        offset_vmcoreinfo,
        size_vmcoreinfo,
        offset_note,
        size_note: notes.len() as u64,
        max_mapnr_64: geometry.max_mapnr,
        ..Default::default()
    };
    out.write(ps, &encode_sub_header(abi, options.endian, &sub))?;
    if !notes.is_empty() {
        out.write(offset_note, notes)?;
    }
    Ok(())
}

/// Step 4: the bitmaps in PS-byte chunks, each chunk for bitmap 1 then bitmap 2, from chunk 0 to the
/// chunk of the last pfn (every page of every block is dumped, so both bitmaps are the same).
fn write_bitmaps(
    out: &mut Counting<'_>,
    blocks: &[GuestBlock<'_>],
    geometry: &DumpGeometry,
) -> io::Result<()> {
    let ps = geometry.page_size;
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
            out.write(geometry.bitmap_offset + old, chunk)?;
            out.write(geometry.bitmap_offset + geometry.bitmap_len + old, chunk)?;
            chunk.fill(0);
            old += ps;
        }
        Ok(())
    };
    for block in blocks {
        let first = block.start / ps;
        for pfn in first..first + block.len.div_ceil(ps) {
            flush_chunks(out, &mut chunk, last_pfn, pfn)?;
            let bit = pfn % bits_per_chunk;
            chunk[(bit / 8) as usize] |= 1 << (bit % 8);
            last_pfn = pfn;
            pfn_count += 1;
        }
    }
    if pfn_count > 0 {
        flush_chunks(out, &mut chunk, last_pfn, last_pfn + bits_per_chunk)?;
    }
    Ok(())
}

/// Step 5: every page through two caches of 4·PS bytes (descriptors at P, data at Q, the shared zero
/// page first in the data cache); descriptors flush, then data. Returns (zero pages, compressed pages).
fn write_pages(
    out: &mut Counting<'_>,
    blocks: &[GuestBlock<'_>],
    options: &QemuDumpOptions,
    geometry: &DumpGeometry,
) -> Result<(u64, u64), WriteError> {
    let ps = geometry.page_size;
    let endian = options.endian;
    let mut descriptors = QemuCache::new(geometry.descriptors_offset, 4 * ps as usize);
    let mut data = QemuCache::new(geometry.data_offset, 4 * ps as usize);
    let zero_desc = encode_page_desc(endian, geometry.data_offset, ps as u32, 0);
    let mut page = vec![0u8; ps as usize];
    data.put(out, &page)?;
    let mut next_data = geometry.data_offset + ps;
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
                descriptors.put(out, &zero_desc)?;
                zero_pages += 1;
                continue;
            }
            let (flags, stored) = store_page(options.compression, &page);
            if flags != 0 {
                compressed_pages += 1;
            }
            data.put(out, &stored)?;
            let desc = encode_page_desc(endian, next_data, stored.len() as u32, flags);
            next_data += stored.len() as u64;
            descriptors.put(out, &desc)?;
        }
    }
    descriptors.sync(out)?;
    data.sync(out)?;
    Ok((zero_pages, compressed_pages))
}
