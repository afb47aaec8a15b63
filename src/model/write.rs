//! What both writers ([`super::qemu`], [`super::makedumpfile`]) share: the memory blocks they read
//! ([`GuestBlock`]), the sink wrapper that counts their writes (`Counting`), their result
//! ([`WriteSummary`]) and error ([`WriteError`]), how they store one page ([`store_page`]) and where
//! the structures of a dump lie (`DumpGeometry`, docs/FORMATS.md §2).

use std::borrow::Cow;
use std::io;

use crate::compress::{compress, Compression};
use crate::readat::ReadAt;
use crate::sink::DumpSink;

use super::encode::{StructAbi, PAGE_DESC_SIZE};

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

/// How both writers store one page that is not shared as the zero page: compressed when the result is
/// strictly smaller than the page (flags = the method's bit), raw otherwise (flags = 0).
pub fn store_page(method: Compression, page: &[u8]) -> (u32, Cow<'_, [u8]>) {
    if method == Compression::None {
        return (0, Cow::Borrowed(page));
    }
    let packed = compress(method, page);
    if packed.len() < page.len() {
        (method.flag(), Cow::Owned(packed))
    } else {
        (0, Cow::Borrowed(page))
    }
}

/// Both writers' page sizes: a power of two in [4096, 262144].
pub(crate) fn check_page_size(page_size: u64) -> Result<(), WriteError> {
    if !page_size.is_power_of_two() || !(4096..=262144).contains(&page_size) {
        return Err(WriteError::Input(format!(
            "page size {page_size} is not a power of two in [4096, 262144]"
        )));
    }
    Ok(())
}

/// An error for a value that does not fit the 32-bit header field `what`.
pub(crate) fn too_big_for_field(what: &str) -> WriteError {
    WriteError::Input(format!("{what} does not fit its 32-bit field"))
}

/// Where the structures of a kdump-compressed file lie (docs/FORMATS.md §2), as both writers compute them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DumpGeometry {
    /// Page size = block size, PS.
    pub(crate) page_size: u64,
    /// `max_mapnr`.
    pub(crate) max_mapnr: u64,
    /// Bytes of each bitmap, rounded up to whole blocks, L.
    pub(crate) bitmap_len: u64,
    /// Blocks of sub-header and notes, `sub_hdr_size`.
    pub(crate) sub_hdr_blocks: u64,
    /// Offset of bitmap 1.
    pub(crate) bitmap_offset: u64,
    /// Offset of the page descriptors, P.
    pub(crate) descriptors_offset: u64,
    /// Offset of the page data, Q = P + 24·D.
    pub(crate) data_offset: u64,
}

impl DumpGeometry {
    /// The geometry of a dump in structure layout `abi` with `note_size` bytes of notes, `max_mapnr`
    /// pfns and `dumped_pages` page descriptors.
    pub(crate) fn new(
        abi: StructAbi,
        page_size: u64,
        note_size: u64,
        max_mapnr: u64,
        dumped_pages: u64,
    ) -> Self {
        let bitmap_len = max_mapnr.div_ceil(8).div_ceil(page_size) * page_size;
        let sub_hdr_blocks = (abi.sub_header_size() + note_size).div_ceil(page_size);
        let bitmap_offset = (1 + sub_hdr_blocks) * page_size;
        let descriptors_offset = bitmap_offset + 2 * bitmap_len;
        DumpGeometry {
            page_size,
            max_mapnr,
            bitmap_len,
            sub_hdr_blocks,
            bitmap_offset,
            descriptors_offset,
            data_offset: descriptors_offset + PAGE_DESC_SIZE * dumped_pages,
        }
    }

    /// `sub_hdr_size` as the header stores it.
    pub(crate) fn sub_hdr_size_field(&self) -> Result<u32, WriteError> {
        u32::try_from(self.sub_hdr_blocks).map_err(|_| too_big_for_field("sub_hdr_size"))
    }

    /// `bitmap_blocks` (both bitmaps, in blocks) as the header stores it.
    pub(crate) fn bitmap_blocks_field(&self) -> Result<u32, WriteError> {
        u32::try_from(2 * self.bitmap_len / self.page_size)
            .map_err(|_| too_big_for_field("bitmap_blocks"))
    }

    /// The legacy 32-bit `max_mapnr` field: MIN(max_mapnr, UINT_MAX).
    pub(crate) fn max_mapnr_field(&self) -> u32 {
        self.max_mapnr.min(u64::from(u32::MAX)) as u32
    }
}
