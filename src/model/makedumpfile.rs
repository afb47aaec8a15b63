//! makedumpfile's kdump-compressed write sequence (`writeout_dumpfile` → `write_kdump_header`,
//! `write_kdump_pages_and_bitmap_cyclic`, `write_kdump_eraseinfo` in makedumpfile.c), in both bitmap modes
//! and for single files as for the files of a `--split` set:
//!
//! 1. `disk_dump_header` at 0; the ELF notes at PS + sizeof(sub-header) (before the sub-header);
//!    `kdump_sub_header` at PS (with `--split`: `split` = 1 and the file's pfn range).
//! 2. The shared zero page goes first into the data cache (dump level bit 1 only).
//! 3. Bitmap 1, cycle by cycle (`for_each_cycle(0, max_mapnr)`, cycles of `cyclic_buffer·8` pfns):
//!    - non-cyclic mode (one cycle): the whole bitmap, trailing zeros up to the block included, in
//!      4096-byte pieces (`BUFSIZE_BITMAP`, copied from makedumpfile's bitmap file);
//!    - cyclic mode (`--cyclic-buffer K`, or makedumpfile's automatic buffer, see
//!      [`automatic_cyclic_buffer`]): one write per cycle of ⌈pfns/8⌉ bytes at `i·K·1024`; the bytes
//!      between ⌈max_mapnr/8⌉ and the end of the bitmap's last block are never written.
//! 4. Per cycle: bitmap 2's part for the cycle (right after the previous part), then the cycle's pages in
//!    pfn order (`write_kdump_pages_cyclic`; with `--split` only those in the file's range, although every
//!    file carries both whole bitmaps and descriptor room for all dumpable pages of the dump):
//!    when the descriptor cache plus 24 bytes, or the data cache plus the stored page, would reach the
//!    cache size, both caches are written out (descriptors first); then the descriptor goes into the
//!    descriptor cache and the data into the data cache. Zero pages (dump level bit 1) only add the
//!    shared zero page's descriptor, through `write_cache`, which writes exactly the cache size when the
//!    buffer reaches it and keeps the overflow. Caches are PS·2^b bytes (`-b b`, 4 by default:
//!    PS·16). The caches carry over from one cycle to the next.
//! 5. The data cache's remainder, then the descriptor cache's remainder.
//! 6. With eraseinfo: its lines through the data cache from the end of the data, the remainder, then the
//!    sub-header again, now with `offset_eraseinfo`/`size_eraseinfo` (a second record over the same range).
//!
//! [`split_ranges`] gives the files' pfn ranges as `--split` computes them (splitblocks). Checked byte for
//! byte against makedumpfile 1.7.2 and 1.7.6 (identical outputs) by tests/model_makedumpfile_oracle.rs:
//! non-cyclic, cyclic with 1 to 200 KiB buffers (up to 128 cycles, cycles ending inside a bitmap byte),
//! split sets of 2 and 3 files, `--num-threads` and `-b`, flattened and raw; by
//! tests/model_kernel_oracle.rs (ignored: needs a booted guest's dumps) at dump level 31, cyclic and split. With `--num-threads`
//! ([`MakedumpfileOptions::num_threads`]) step 4 puts descriptors and data through plain `write_cache`
//! (`write_kdump_pages_parallel_cyclic`), without `write_kdump_page`'s early flush. Not modelled: `-E`
//! (ELF output), a size limit (`-L`) and ENOSPC handling.

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
            buf: Vec::new(),
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

/// The dump-wide values makedumpfile writes, whatever the memory, and the command-line choices that shape
/// its write sequence (bitmap mode, split range, threads, block order).
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
    /// Bitmap bytes per cycle in makedumpfile's cyclic mode: `--cyclic-buffer K` gives `K·1024`, taken
    /// as is (no rounding; makedumpfile only lowers it to the free memory, divided by the number of
    /// `--split` files), so each cycle covers `K·1024·8` pfns. `None`: the non-cyclic mode makedumpfile
    /// picks without `--cyclic-buffer` when its automatic buffer holds twice `max_mapnr` bits (bitmaps
    /// kept in a temporary file and copied whole in [`BUFSIZE_BITMAP`] pieces). With `--split` (and
    /// without `--cyclic-buffer`) makedumpfile runs cyclic with its automatic buffer size.
    pub cyclic_buffer: Option<u64>,
    /// `--split`: the pfn range `[start, end)` of this file of the set (see [`split_ranges`]); `None`
    /// for a single file.
    pub split: Option<(u64, u64)>,
    /// `--num-threads N`: 0 for none. With N ≥ 1 (any N: the writer takes the pages back in pfn order)
    /// the writer puts descriptors and data through plain `write_cache`
    /// (`write_kdump_pages_parallel_cyclic`), without `write_kdump_page`'s early flush of both caches.
    pub num_threads: u32,
    /// `-b ORDER`: both caches hold `page_size << ORDER` bytes ([`DEFAULT_BLOCK_ORDER`] without `-b`).
    pub block_order: u32,
}

impl Default for MakedumpfileOptions {
    /// makedumpfile's defaults on a 64-bit little-endian machine with 4 KiB pages and an ELF without
    /// VMCOREINFO (empty utsname, `phys_base` 0, timestamp 0): one CPU, no compression, `-d 0`,
    /// non-cyclic, no `--split`, no threads, `-b 4`, `max_mapnr` from the last block.
    fn default() -> Self {
        MakedumpfileOptions {
            abi: StructAbi::Lp64,
            endian: Endian::Little,
            page_size: 4096,
            compression: Compression::None,
            dump_level: 0,
            nr_cpus: 1,
            phys_base: 0,
            utsname: Default::default(),
            timestamp: (0, 0),
            eraseinfo: None,
            max_mapnr: None,
            cyclic_buffer: None,
            split: None,
            num_threads: 0,
            block_order: DEFAULT_BLOCK_ORDER,
        }
    }
}

/// The makedumpfile options a layout implies for the dump written as one file: its write mode
/// ([`Layout::mode`]: bitmap mode, threads, block order), without `--split` (see
/// [`makedumpfile_part_options`] for the files of a split layout).
pub fn makedumpfile_options(layout: &Layout) -> MakedumpfileOptions {
    MakedumpfileOptions {
        cyclic_buffer: layout.cyclic_buffer(),
        num_threads: layout.mode.num_threads,
        block_order: layout.mode.block_order,
        ..makedumpfile_default_options(layout)
    }
}

/// The options of the file of a split layout's set that holds the pfn range `range` (one of
/// [`Layout::split_ranges`]): the layout's write mode and the range.
pub fn makedumpfile_part_options(layout: &Layout, range: (u64, u64)) -> MakedumpfileOptions {
    MakedumpfileOptions {
        split: Some(range),
        ..makedumpfile_options(layout)
    }
}

/// The options of makedumpfile's default write sequence for a layout's dump as one file, whatever the
/// layout's [`Layout::mode`]: non-cyclic, no threads, `-b 4`, no `--split`. Every mode gives the same
/// file.
pub fn makedumpfile_default_options(layout: &Layout) -> MakedumpfileOptions {
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
        cyclic_buffer: None,
        split: None,
        num_threads: 0,
        block_order: DEFAULT_BLOCK_ORDER,
    }
}

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
    let memories = super::block_memories(layout);
    let blocks = super::guest_blocks(layout, &memories);
    let excluded: Vec<u64> = layout
        .pages()
        .filter(|p| layout.excludes(p.class))
        .map(|p| p.pfn)
        .collect();
    let is_dumped = |pfn: u64| excluded.binary_search(&pfn).is_err();
    write_makedumpfile_kdump_from(&blocks, &is_dumped, &note_section(layout), options, sink)
}

/// makedumpfile's cap on its automatic cyclic buffer (`calculate_cyclic_buffer_size`): 4 MiB.
pub const MAX_AUTOMATIC_CYCLIC_BUFFER: u64 = 4 << 20;

/// The [`MakedumpfileOptions::cyclic_buffer`] makedumpfile picks itself when run without
/// `--cyclic-buffer` (`initial`, `calculate_cyclic_buffer_size`) for `files` output files (1, or the
/// number of `--split` files), with `free_memory` bytes of MemFree: the buffer is the smallest of 60 % of
/// the free memory, 4 MiB and `max_mapnr·2/8` bytes (both bitmaps at once, integer division; divided by
/// the number of files with `--split`); when that holds `2·max_mapnr` bits, the non-cyclic mode (`None`).
/// So with enough memory a single file is written non-cyclic exactly when `max_mapnr` is a multiple of 4
/// and at most 16 Mi pfns; otherwise cyclic, usually in one cycle (bitmaps written at once), with
/// several cycles beyond 16 Mi pfns (64 GiB of 4 KiB pages), and with `--split` always cyclic.
pub fn automatic_cyclic_buffer(max_mapnr: u64, files: u64, free_memory: u64) -> Option<u64> {
    let limit = (free_memory as f64 * 0.6) as u64;
    let mut bitmap_size = max_mapnr.saturating_mul(2) / 8;
    if files > 1 {
        bitmap_size /= files;
    }
    let buffer = limit.min(MAX_AUTOMATIC_CYCLIC_BUFFER).min(bitmap_size);
    if buffer.saturating_mul(8) >= max_mapnr.saturating_mul(2) {
        None
    } else {
        Some(buffer)
    }
}

/// `DEFAULT_SPLITBLOCK_SIZE`: `--split` balances its files in whole splitblocks of this many bytes
/// (`--splitblock-size K` sets `K·1024`, a multiple of the page size).
pub const DEFAULT_SPLITBLOCK_SIZE: u64 = 1 << 30;

/// The pfn range of each of `files` files of makedumpfile's `--split` (`setup_splitting`,
/// `calculate_end_pfn_by_splitblock`), from the pfns in bitmap 2 (`dumpable_pfns`, ascending, zero pages
/// included: zero pages are found only while writing) and `pages_per_splitblock` (splitblock size / page
/// size).
///
/// makedumpfile counts the dumpable pages of every whole splitblock (the last, partial one keeps a count of
/// 0), then gives each file but the last whole splitblocks until it holds at least `D / files` pages (D:
/// all dumpable pages, integer division; a file may get more, or nothing); the last file gets the rest,
/// up to `max_mapnr`. Ranges are contiguous from 0 to `max_mapnr`. For `files < 2` (which makedumpfile
/// refuses) the single range `[0, max_mapnr)`.
pub fn split_ranges(
    dumpable_pfns: impl IntoIterator<Item = u64>,
    max_mapnr: u64,
    files: usize,
    pages_per_splitblock: u64,
) -> Vec<(u64, u64)> {
    if files < 2 || pages_per_splitblock == 0 {
        return vec![(0, max_mapnr)];
    }
    let whole_blocks = max_mapnr / pages_per_splitblock;
    let block_count = max_mapnr.div_ceil(pages_per_splitblock);
    let mut counts = std::collections::BTreeMap::<u64, u64>::new();
    let mut dumpable = 0u64;
    for pfn in dumpable_pfns.into_iter().filter(|&pfn| pfn < max_mapnr) {
        dumpable += 1;
        let block = pfn / pages_per_splitblock;
        if block < whole_blocks {
            *counts.entry(block).or_default() += 1;
        }
    }
    let needed_per_file = dumpable / files as u64;
    let mut ranges = Vec::with_capacity(files);
    let (mut end, mut next_block) = (0u64, 0u64);
    for _ in 0..files - 1 {
        let start = end;
        if start < max_mapnr {
            let mut needed = needed_per_file;
            while next_block < block_count && needed > 0 {
                // Blocks without dumpable pages do not change `needed`: jump to the next counted one.
                match counts.range(next_block..).next() {
                    Some((&block, &count)) => {
                        needed = needed.saturating_sub(count);
                        next_block = block + 1;
                    }
                    None => next_block = block_count,
                }
            }
            end = (next_block * pages_per_splitblock).min(max_mapnr);
        } else {
            end = max_mapnr;
        }
        ranges.push((start, end));
    }
    ranges.push((end, max_mapnr));
    ranges
}

/// makedumpfile's `cache_data` pair and page loop state (`write_kdump_page`, `write_kdump_pages_cyclic`).
struct PageWriter {
    descriptors: MdfCache,
    data: MdfCache,
    next_data: u64,
    zero_desc: [u8; PAGE_DESC_SIZE as usize],
    shares_zero: bool,
    early_flush: bool,
    compression: Compression,
    endian: Endian,
    page: Vec<u8>,
    zero_pages: u64,
    compressed_pages: u64,
}

impl PageWriter {
    /// Reads, stores and caches the page `pfn` of `block`.
    fn write_page(
        &mut self,
        out: &mut Counting<'_>,
        pfn: u64,
        block: &GuestBlock<'_>,
    ) -> Result<(), WriteError> {
        let ps = self.page.len() as u64;
        let within = pfn * ps - block.start;
        let valid = (block.len - within).min(ps) as usize;
        self.page[valid..].fill(0);
        block
            .data
            .read_exact_at(block.data_offset + within, &mut self.page[..valid])?;
        if self.shares_zero && self.page.iter().all(|&b| b == 0) {
            self.descriptors.put(out, &self.zero_desc)?;
            self.zero_pages += 1;
            return Ok(());
        }
        let (flags, stored) = store_page(self.compression, &self.page);
        if flags != 0 {
            self.compressed_pages += 1;
        }
        let desc = encode_page_desc(self.endian, self.next_data, stored.len() as u32, flags);
        self.next_data += stored.len() as u64;
        let cache_size = self.descriptors.capacity;
        // write_kdump_page: when either cache is nearly full, both are written out first.
        if self.early_flush
            && (self.descriptors.buf.len() + desc.len() >= cache_size
                || self.data.buf.len() + stored.len() >= cache_size)
        {
            self.descriptors.flush_remainder(out)?;
            self.data.flush_remainder(out)?;
        }
        self.descriptors.put(out, &desc)?;
        self.data.put(out, &stored)?;
        Ok(())
    }
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
    let cycle_pfns = match options.cyclic_buffer {
        Some(0) => return Err(WriteError::Input("cyclic buffer of 0 bytes".into())),
        Some(bytes) => bytes
            .checked_mul(8)
            .ok_or_else(|| WriteError::Input(format!("cyclic buffer of {bytes} bytes")))?,
        None => max_mapnr,
    };
    let (split_start, split_end) = match options.split {
        Some((start, end)) if start > end || end > max_mapnr => {
            return Err(WriteError::Input(format!(
                "split range [{start:#x}, {end:#x}) is not within [0, max_mapnr {max_mapnr:#x})"
            )))
        }
        Some(range) => range,
        None => (0, max_mapnr),
    };
    let pfns = || {
        blocks.iter().flat_map(move |b| {
            let first = b.start / ps;
            (first..first + b.len.div_ceil(ps)).map(move |pfn| (pfn, b))
        })
    };
    // makedumpfile's num_dumpable: the whole dump's, in every file of a split set.
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
    let cache_size = ps
        .checked_shl(options.block_order)
        .filter(|&size| size >> options.block_order == ps && size <= 1 << 30)
        .ok_or_else(|| {
            WriteError::Input(format!(
                "block order {} makes caches beyond 1 GiB",
                options.block_order
            ))
        })? as usize;
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
    if options.split.is_some() {
        // The legacy fields are MIN(pfn, UINT_MAX), "only for compatibility".
        sub.split = 1;
        sub.start_pfn = split_start.min(u64::from(u32::MAX));
        sub.end_pfn = split_end.min(u64::from(u32::MAX));
        sub.start_pfn_64 = split_start;
        sub.end_pfn_64 = split_end;
    }
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
    let shares_zero = options.dump_level & 1 != 0;
    let mut pages = PageWriter {
        descriptors: MdfCache::new(descriptors_offset, cache_size),
        data: MdfCache::new(data_offset, cache_size),
        next_data: data_offset,
        zero_desc: encode_page_desc(endian, data_offset, ps as u32, 0),
        shares_zero,
        early_flush: options.num_threads == 0,
        compression: options.compression,
        endian,
        page: vec![0u8; ps as usize],
        zero_pages: 0,
        compressed_pages: 0,
    };
    if shares_zero {
        pages.data.put(&mut out, &vec![0u8; ps as usize])?;
        pages.next_data += ps;
    }

    let mut bitmap1 = vec![0u8; bitmap_len as usize];
    let mut bitmap2 = vec![0u8; bitmap_len as usize];
    for (pfn, _) in pfns() {
        let (byte, bit) = ((pfn / 8) as usize, pfn % 8);
        bitmap1[byte] |= 1 << bit;
        if is_dumped(pfn) {
            bitmap2[byte] |= 1 << bit;
        }
    }
    // for_each_cycle(0, max_mapnr): cycles of cycle_pfns pfns (non-cyclic mode: one cycle).
    let cycles = (0..max_mapnr.div_ceil(cycle_pfns))
        .map(|i| (i * cycle_pfns, ((i + 1) * cycle_pfns).min(max_mapnr)));
    // One cycle's part of a bitmap: the non-cyclic mode copies the whole bitmap (trailing zeros included)
    // from its file in BUFSIZE_BITMAP pieces; the cyclic mode writes the cycle's bytes at once.
    let write_bitmap_part = |out: &mut Counting<'_>,
                             at: u64,
                             bitmap: &[u8],
                             (start, end): (u64, u64)|
     -> io::Result<()> {
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
    };

    // 3. Bitmap 1, cycle by cycle (write_kdump_bitmap1): cycle i at its place, i·cyclic_buffer.
    for (i, cycle) in cycles.clone().enumerate() {
        let at = bitmap_offset + options.cyclic_buffer.unwrap_or(0) * i as u64;
        write_bitmap_part(&mut out, at, &bitmap1, cycle)?;
    }

    // 4. Per cycle, bitmap 2's part (right after the previous one) and then the cycle's pages in pfn order
    //    (write_kdump_pages_cyclic), only those of the split range.
    let mut bitmap2_at = bitmap_offset + bitmap_len;
    let mut memory = pfns().peekable();
    for (start, end) in cycles {
        write_bitmap_part(&mut out, bitmap2_at, &bitmap2, (start, end))?;
        bitmap2_at += (end - start).div_ceil(8);
        while let Some((pfn, block)) = memory.next_if(|&(pfn, _)| pfn < end) {
            if (split_start..split_end).contains(&pfn) && is_dumped(pfn) {
                pages.write_page(&mut out, pfn, block)?;
            }
        }
    }

    // 5. Remainders: data first, then descriptors.
    pages.data.flush_remainder(&mut out)?;
    pages.descriptors.flush_remainder(&mut out)?;

    // 6. Eraseinfo and the sub-header rewrite.
    if let Some(text) = options.eraseinfo.as_ref().filter(|t| !t.is_empty()) {
        let offset_eraseinfo = pages.data.offset;
        for line in text.split_inclusive('\n') {
            pages.data.put(&mut out, line.as_bytes())?;
        }
        pages.data.flush_remainder(&mut out)?;
        sub.offset_eraseinfo = offset_eraseinfo;
        sub.size_eraseinfo = text.len() as u64;
        out.write(ps, &encode_sub_header(abi, endian, &sub))?;
    }
    out.sink.finish()?;
    Ok(WriteSummary {
        max_mapnr,
        dumped_pages,
        zero_pages: pages.zero_pages,
        compressed_pages: pages.compressed_pages,
        descriptors_offset,
        data_offset,
        end: out.end,
        writes: out.writes,
    })
}
