//! Walking the page descriptors of a file in pfn order, in bounded windows, and the page counts that
//! follow from the bitmaps and descriptors alone (no decompression).

use serde::Serialize;

use super::bitmap::Which;
use super::descriptor::{PageDesc, PAGE_DESC_SIZE};
use super::error::{read_structure, KInvariant, KdumpError};
use super::KdumpFile;
use crate::compress::Compression;
use crate::readat::ReadAt;

/// Descriptors read at once.
pub const WINDOW: usize = 16384;

/// One dumped page: its pfn and descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorEntry {
    /// Page frame number.
    pub pfn: u64,
    /// File offset of the descriptor.
    pub desc_offset: u64,
    /// The descriptor.
    pub desc: PageDesc,
}

/// How a walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WalkEnd {
    /// Descriptors visited.
    pub visited: u64,
    /// If the file ends inside the descriptors: (pfn, descriptor offset) of the first one missing, and
    /// the number of descriptors missing.
    pub truncated: Option<(u64, u64, u64)>,
}

/// Calls `visit` with consecutive windows (at most [`WINDOW`] entries) of this file's dumped pages, in pfn
/// order. Descriptors beyond the end of the file are not visited: [`WalkEnd::truncated`] says where they
/// start.
pub fn walk_descriptors<R: ReadAt>(
    dump: &KdumpFile<R>,
    visit: impl FnMut(&[DescriptorEntry]) -> Result<(), KdumpError>,
) -> Result<WalkEnd, KdumpError> {
    walk_descriptors_in_windows(dump, WINDOW, visit)
}

/// [`walk_descriptors`] with windows of at most `window` entries (at least 1).
pub fn walk_descriptors_in_windows<R: ReadAt>(
    dump: &KdumpFile<R>,
    window: usize,
    mut visit: impl FnMut(&[DescriptorEntry]) -> Result<(), KdumpError>,
) -> Result<WalkEnd, KdumpError> {
    let window = window.max(1);
    let (start, end) = dump.pfn_range();
    let reader = dump.reader();
    let bitmaps = dump.bitmaps();
    let file_size = dump.file_size();
    let order = dump.byte_order();
    let mut state = WalkEnd::default();
    let mut pfns: Vec<u64> = Vec::with_capacity(window);
    let mut raw = Vec::new();
    let mut entries = Vec::with_capacity(window);
    let mut index = 0u64;
    let mut flush = |pfns: &mut Vec<u64>, state: &mut WalkEnd| -> Result<(), KdumpError> {
        if pfns.is_empty() || state.truncated.is_some() {
            index += pfns.len() as u64;
            pfns.clear();
            return Ok(());
        }
        let first_offset = dump.descriptors_offset() + index * PAGE_DESC_SIZE;
        let wanted_end = first_offset + pfns.len() as u64 * PAGE_DESC_SIZE;
        let available = if wanted_end <= file_size {
            pfns.len()
        } else {
            (file_size.saturating_sub(first_offset) / PAGE_DESC_SIZE) as usize
        };
        raw.resize(available * PAGE_DESC_SIZE as usize, 0);
        read_structure(
            reader,
            first_offset,
            &mut raw,
            KInvariant::K12,
            "page descriptors",
        )?;
        entries.clear();
        for (i, &pfn) in pfns[..available].iter().enumerate() {
            let at = i * PAGE_DESC_SIZE as usize;
            entries.push(DescriptorEntry {
                pfn,
                desc_offset: first_offset + at as u64,
                desc: PageDesc::decode(&raw[at..at + PAGE_DESC_SIZE as usize], order),
            });
        }
        if available < pfns.len() {
            let missing_offset = first_offset + available as u64 * PAGE_DESC_SIZE;
            let remaining = dump.descriptor_count() - index - available as u64;
            state.truncated = Some((pfns[available], missing_offset, remaining));
        }
        state.visited += entries.len() as u64;
        index += pfns.len() as u64;
        pfns.clear();
        visit(&entries)
    };
    let first_byte = start / 8;
    let end_byte = end.div_ceil(8);
    bitmaps.scan(reader, Which::Dumped, first_byte, end_byte, |at, bytes| {
        if state.truncated.is_some() {
            // The file ended inside the descriptors: the rest cannot be read.
            return Ok(());
        }
        for (i, &byte) in bytes.iter().enumerate() {
            let mut bits = byte;
            while bits != 0 {
                let bit = bits.trailing_zeros() as u64;
                bits &= bits - 1;
                let pfn = (at + i as u64) * 8 + bit;
                if pfn < start || pfn >= end {
                    continue;
                }
                pfns.push(pfn);
                if pfns.len() == window {
                    flush(&mut pfns, &mut state)?;
                }
            }
        }
        Ok(())
    })?;
    flush(&mut pfns, &mut state)?;
    Ok(state)
}

/// Page counts of one file, from its bitmaps and descriptors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PageCounts {
    /// Pfns below max_pfn whose bit in bitmap 1 is set (memory).
    pub in_memory: u64,
    /// Pages with a descriptor in this file.
    pub dumped: u64,
    /// Memory pages left out by the dump level (bitmap 1 set, bitmap 2 clear).
    pub excluded: u64,
    /// Dumped pages whose descriptor points at the shared zero page.
    pub zero: u64,
    /// Dumped pages stored compressed (not counting zero-page references).
    pub compressed: u64,
    /// Dumped pages stored raw (not counting zero-page references).
    pub raw: u64,
    /// The compressed pages by the codec their descriptors name.
    pub by_codec: CodecCounts,
}

/// Compressed pages per codec, from the descriptors' flags (which may disagree with the header's
/// `status`: readers follow the descriptors).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CodecCounts {
    /// Pages flagged zlib.
    pub zlib: u64,
    /// Pages flagged LZO.
    pub lzo: u64,
    /// Pages flagged snappy.
    pub snappy: u64,
    /// Pages flagged zstd.
    pub zstd: u64,
}

impl CodecCounts {
    /// Counts one compressed page of `codec` (`None` is not counted).
    pub fn add(&mut self, codec: Compression) {
        match codec {
            Compression::None => {}
            Compression::Zlib => self.zlib += 1,
            Compression::Lzo => self.lzo += 1,
            Compression::Snappy => self.snappy += 1,
            Compression::Zstd => self.zstd += 1,
        }
    }

    /// Adds another file's counts.
    pub fn add_all(&mut self, other: &CodecCounts) {
        self.zlib += other.zlib;
        self.lzo += other.lzo;
        self.snappy += other.snappy;
        self.zstd += other.zstd;
    }

    /// The codecs used, with their page counts, in the order of the status bits.
    pub fn used(&self) -> Vec<(Compression, u64)> {
        [
            (Compression::Zlib, self.zlib),
            (Compression::Lzo, self.lzo),
            (Compression::Snappy, self.snappy),
            (Compression::Zstd, self.zstd),
        ]
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .collect()
    }
}

/// True if `desc` points at the shared zero page found at `zero_page` (see [`shared_zero_page`]).
pub fn is_zero_page_reference(desc: &PageDesc, zero_page: Option<u64>, page_size: u64) -> bool {
    Some(desc.offset as u64) == zero_page && desc.size as u64 == page_size && desc.flags == 0
}

/// Finds the shared zero page: writers put one raw page of zeros first in the data area and point every
/// zero page's descriptor at it (QEMU always; makedumpfile with dump level bit 1). It is the lowest data
/// offset at or after the descriptors that any descriptor names, if a raw descriptor names it and its
/// bytes are all zero. Not always at the
/// end of the descriptors: makedumpfile sizes the descriptor area of every `--split` part for the pages of
/// the whole set.
pub fn shared_zero_page<R: ReadAt>(dump: &KdumpFile<R>) -> Result<Option<u64>, KdumpError> {
    let page_size = dump.page_size();
    let file_size = dump.file_size();
    let data_offset = dump.data_offset();
    let mut lowest: Option<(u64, bool)> = None;
    walk_descriptors(dump, |entries| {
        for entry in entries {
            let desc = &entry.desc;
            let offset = desc.offset as u64;
            if desc.offset <= 0 || offset < data_offset {
                continue;
            }
            let raw_page = desc.size as u64 == page_size && desc.flags == 0;
            match &mut lowest {
                Some((low, raw)) if offset == *low => *raw |= raw_page,
                Some((low, _)) if offset > *low => {}
                _ => lowest = Some((offset, raw_page)),
            }
        }
        Ok(())
    })?;
    let Some((offset, true)) = lowest else {
        return Ok(None);
    };
    if offset.saturating_add(page_size) > file_size {
        return Ok(None);
    }
    let mut block = vec![0u8; page_size as usize];
    read_structure(
        dump.reader(),
        offset,
        &mut block,
        KInvariant::K14,
        "shared zero page",
    )?;
    Ok(block.iter().all(|&b| b == 0).then_some(offset))
}

/// Counts the pages of a file (reads the bitmaps and every descriptor; decompresses nothing).
pub fn page_counts<R: ReadAt>(dump: &KdumpFile<R>) -> Result<PageCounts, KdumpError> {
    let mut counts = PageCounts::default();
    let max_pfn = dump.max_pfn();
    let reader = dump.reader();
    let bitmaps = dump.bitmaps();
    let mut both = 0u64;
    let mut second = vec![0u8; super::bitmap::SCAN_CHUNK];
    bitmaps.scan(
        reader,
        Which::InMemory,
        0,
        max_pfn.div_ceil(8),
        |at, bytes| {
            bitmaps.read(reader, Which::Dumped, at, &mut second[..bytes.len()])?;
            for (i, (&a, &b)) in bytes.iter().zip(&second[..bytes.len()]).enumerate() {
                let base = (at + i as u64) * 8;
                let mask = if base + 8 <= max_pfn {
                    0xff
                } else {
                    ((1u16 << (max_pfn - base)) - 1) as u8
                };
                counts.in_memory += (a & mask).count_ones() as u64;
                both += (a & b & mask).count_ones() as u64;
            }
            Ok(())
        },
    )?;
    counts.excluded = counts.in_memory - both;
    let zero_page = shared_zero_page(dump)?;
    let page_size = dump.page_size();
    walk_descriptors(dump, |entries| {
        for entry in entries {
            counts.dumped += 1;
            if is_zero_page_reference(&entry.desc, zero_page, page_size) {
                counts.zero += 1;
            } else if entry.desc.is_compressed() {
                counts.compressed += 1;
                if let Some(codec) = entry.desc.compression() {
                    counts.by_codec.add(codec);
                }
            } else {
                counts.raw += 1;
            }
        }
        Ok(())
    })?;
    Ok(counts)
}
