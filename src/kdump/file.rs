//! [`KdumpFile`]: one kdump-compressed file opened for reading, through any [`ReadAt`].

use super::descriptor::validate_descriptor;
use super::error::read_structure;
use super::headers::{read_bounded_area, stated_max_mapnr};
use super::page::{decompress_page, read_phys_from, with_pfn, PageContent, PageState};
use super::{
    Bitmaps, ByteOrder, Class, DiskDumpHeader, Headers, KInvariant, KdumpError, KdumpSubHeader,
    Notes, NotesProblem, PageDesc, Vmcoreinfo, Which, PAGE_DESC_SIZE,
};
use crate::compress::Compression;
use crate::readat::ReadAt;

/// One kdump-compressed file, opened for reading.
pub struct KdumpFile<R: ReadAt> {
    reader: R,
    file_size: u64,
    header: DiskDumpHeader,
    sub_header: Option<KdumpSubHeader>,
    notes: Notes,
    notes_error: Option<NotesProblem>,
    vmcoreinfo: Option<Vmcoreinfo>,
    bitmaps: Bitmaps,
    page_size: u64,
    max_pfn: u64,
    pfn_range: (u64, u64),
    first_descriptor_rank: u64,
    descriptor_count: u64,
    descriptors_offset: u64,
}

impl<R: ReadAt> KdumpFile<R> {
    /// Opens a kdump-compressed file: reads the header (detecting word size and byte order), the
    /// sub-header, the notes and VMCOREINFO, and indexes the bitmaps. Fails only when the structures
    /// needed to read pages cannot be located; other problems are left to [`check::check`](super::check::check).
    /// A problem with the notes does not fail the open: see [`KdumpFile::notes_error`].
    pub fn open(reader: R) -> Result<Self, KdumpError> {
        let headers = Headers::read(&reader)?;
        Self::from_headers(reader, headers)
    }

    /// Opens the file whose headers were already read with [`Headers::read`] (from the same reader).
    pub fn from_headers(reader: R, headers: Headers) -> Result<Self, KdumpError> {
        let Headers {
            file_size,
            header,
            sub_header,
            notes,
            notes_error,
            vmcoreinfo,
        } = headers;
        let page_size = header.block_size as u64;
        let sub_hdr_blocks = header.sub_hdr_size.max(0) as u64;
        let bitmap1_offset = page_size.checked_mul(1 + sub_hdr_blocks).ok_or_else(|| {
            KdumpError::invalid(
                KInvariant::K8,
                Some(0),
                None,
                "sub_hdr_size overflows the file offsets",
            )
        })?;
        let bitmap_len = (header.bitmap_blocks as u64 / 2) * page_size;
        let max_mapnr = sub_header
            .as_ref()
            .and_then(|s| s.max_mapnr_64())
            .unwrap_or(header.max_mapnr as u64);
        let max_pfn = max_mapnr.min(bitmap_len.saturating_mul(8));
        let bitmaps = Bitmaps::open(
            &reader,
            bitmap1_offset,
            bitmap_len,
            max_pfn.div_ceil(8),
            file_size,
        )?;
        let (start, end) = sub_header.as_ref().map_or((0, u64::MAX), |s| s.pfn_range());
        let pfn_range = (start.min(max_pfn), end.min(max_pfn));
        let first_descriptor_rank = bitmaps.rank_dumped(&reader, pfn_range.0)?;
        let descriptor_count = bitmaps
            .rank_dumped(&reader, pfn_range.1)?
            .saturating_sub(first_descriptor_rank);
        let descriptors_offset =
            bitmap1_offset + 2 * bitmap_len + (header.bitmap_blocks as u64 % 2) * page_size;
        Ok(KdumpFile {
            reader,
            file_size,
            header,
            sub_header,
            notes,
            notes_error,
            vmcoreinfo,
            bitmaps,
            page_size,
            max_pfn,
            pfn_range,
            first_descriptor_rank,
            descriptor_count,
            descriptors_offset,
        })
    }

    /// The underlying source.
    pub fn reader(&self) -> &R {
        &self.reader
    }

    /// Size of the (reassembled) file in bytes.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// The decoded `disk_dump_header`.
    pub fn header(&self) -> &DiskDumpHeader {
        &self.header
    }

    /// The decoded `kdump_sub_header` (`None` for header version 0).
    pub fn sub_header(&self) -> Option<&KdumpSubHeader> {
        self.sub_header.as_ref()
    }

    /// Page size (`block_size`) in bytes.
    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// One past the highest pfn as the file states it (`max_mapnr_64` from version 6, else `max_mapnr`).
    pub fn max_mapnr(&self) -> u64 {
        stated_max_mapnr(&self.header, self.sub_header.as_ref())
    }

    /// One past the highest pfn that can be read: `max_mapnr` clipped to what the bitmaps cover.
    pub fn max_pfn(&self) -> u64 {
        self.max_pfn
    }

    /// The compression named by the header's `status` (the lowest compression bit if several are set:
    /// the checker reports that as K7). Pages carry their own flags, which decide how each is read.
    pub fn compression(&self) -> Compression {
        let bits = self.header.compression_bits();
        if bits == 0 {
            Compression::None
        } else {
            Compression::from_flags(1 << bits.trailing_zeros()).unwrap_or(Compression::None)
        }
    }

    /// Byte order of the dumped machine.
    pub fn byte_order(&self) -> ByteOrder {
        self.header.byte_order
    }

    /// Word size of the dumped machine.
    pub fn class(&self) -> Class {
        self.header.class
    }

    /// The ELF notes (empty for versions below 4, or when they could not be parsed).
    pub fn notes(&self) -> &Notes {
        &self.notes
    }

    /// Why the notes or the VMCOREINFO could not be read, if they could not.
    pub fn notes_error(&self) -> Option<&NotesProblem> {
        self.notes_error.as_ref()
    }

    /// The VMCOREINFO text, when the dump has one.
    pub fn vmcoreinfo(&self) -> Option<&Vmcoreinfo> {
        self.vmcoreinfo.as_ref()
    }

    /// The raw bytes of the ELF note section the sub-header points at (version 4 and later), `None`
    /// without one. Fails (K8) if the range does not fit in the file or exceeds
    /// [`MAX_NOTES_SIZE`](super::MAX_NOTES_SIZE).
    pub fn notes_bytes(&self) -> Result<Option<Vec<u8>>, KdumpError> {
        let range = self.sub_header.as_ref().and_then(|s| s.notes_range());
        range
            .map(|(offset, size)| self.read_area(offset, size, KInvariant::K8, "notes"))
            .transpose()
    }

    /// The eraseinfo text's raw bytes (what makedumpfile `--config` erased; version 5 and later, when
    /// `size_eraseinfo` > 0), `None` without one. Fails (K17) if the range does not fit in the file or
    /// exceeds [`MAX_NOTES_SIZE`](super::MAX_NOTES_SIZE).
    pub fn eraseinfo(&self) -> Result<Option<Vec<u8>>, KdumpError> {
        let range = self.sub_header.as_ref().and_then(|s| s.eraseinfo_range());
        range
            .map(|(offset, size)| self.read_area(offset, size, KInvariant::K17, "eraseinfo"))
            .transpose()
    }

    /// Reads `size` bytes at `offset`, refusing (as `invariant`) ranges beyond the file or above
    /// [`MAX_NOTES_SIZE`](super::MAX_NOTES_SIZE).
    fn read_area(
        &self,
        offset: u64,
        size: u64,
        invariant: KInvariant,
        what: &str,
    ) -> Result<Vec<u8>, KdumpError> {
        read_bounded_area(&self.reader, offset, size, self.file_size, invariant, what)
    }

    /// The bitmaps.
    pub fn bitmaps(&self) -> &Bitmaps {
        &self.bitmaps
    }

    /// The pfn range [start, end) whose descriptors this file holds (everything below `max_pfn` unless
    /// this file is one part of a split set).
    pub fn pfn_range(&self) -> (u64, u64) {
        self.pfn_range
    }

    /// File offset of the first page descriptor.
    pub fn descriptors_offset(&self) -> u64 {
        self.descriptors_offset
    }

    /// Number of descriptors in this file (set bits of bitmap 2 in its pfn range).
    pub fn descriptor_count(&self) -> u64 {
        self.descriptor_count
    }

    /// File offset where page data may start: the end of the descriptors.
    pub fn data_offset(&self) -> u64 {
        self.descriptors_offset
            .saturating_add(self.descriptor_count.saturating_mul(PAGE_DESC_SIZE))
    }

    /// Where `pfn` stands according to the bitmaps (bitmap 2 decides whether a descriptor exists).
    pub fn page_state(&self, pfn: u64) -> Result<PageState, KdumpError> {
        if pfn >= self.max_pfn {
            return Err(KdumpError::PfnOutOfRange {
                pfn,
                max_pfn: self.max_pfn,
            });
        }
        if self.bitmaps.bit(&self.reader, Which::Dumped, pfn)? {
            Ok(PageState::Dumped)
        } else if self.bitmaps.bit(&self.reader, Which::InMemory, pfn)? {
            Ok(PageState::Excluded)
        } else {
            Ok(PageState::NotInMemory)
        }
    }

    /// Reads the descriptor of a dumped `pfn` (its bit in bitmap 2 must be set).
    pub fn descriptor(&self, pfn: u64) -> Result<PageDesc, KdumpError> {
        let (start, end) = self.pfn_range;
        if pfn < start || pfn >= end {
            return Err(KdumpError::PfnInOtherSplitFile {
                pfn,
                start_pfn: start,
                end_pfn: end,
            });
        }
        let index = self.bitmaps.rank_dumped(&self.reader, pfn)? - self.first_descriptor_rank;
        let offset = self.descriptors_offset + index * PAGE_DESC_SIZE;
        let mut bytes = [0u8; PAGE_DESC_SIZE as usize];
        read_structure(
            &self.reader,
            offset,
            &mut bytes,
            KInvariant::K12,
            "page descriptor",
        )
        .map_err(|e| with_pfn(e, pfn))?;
        Ok(PageDesc::decode(&bytes, self.header.byte_order))
    }

    /// Reads and decompresses the page of `pfn`.
    pub fn read_page(&self, pfn: u64) -> Result<PageContent, KdumpError> {
        match self.page_state(pfn)? {
            PageState::NotInMemory => Ok(PageContent::NotInMemory),
            PageState::Excluded => Ok(PageContent::Excluded),
            PageState::Dumped => {
                let desc = self.descriptor(pfn)?;
                let mut page = vec![0u8; self.page_size as usize];
                self.load_page(pfn, &desc, &mut page)?;
                Ok(PageContent::Data(page))
            }
        }
    }

    /// Reads the page of `pfn`, or zeros if it is excluded or not memory.
    pub fn read_page_or_zero(&self, pfn: u64) -> Result<Vec<u8>, KdumpError> {
        match self.read_page(pfn)? {
            PageContent::Data(page) => Ok(page),
            PageContent::Excluded | PageContent::NotInMemory => {
                Ok(vec![0u8; self.page_size as usize])
            }
        }
    }

    /// Fills `buf` with guest-physical bytes from `addr`. Pages not in the dump are an error
    /// ([`KdumpError::NoData`]) unless `zero_fill_excluded`, which reads them as zeros.
    pub fn read_phys(
        &self,
        addr: u64,
        buf: &mut [u8],
        zero_fill_excluded: bool,
    ) -> Result<(), KdumpError> {
        read_phys_from(self, addr, buf, zero_fill_excluded)
    }

    /// Checks `desc` (K13, K14) and reads its data into `out` (exactly one page), decompressing it (K16).
    pub fn load_page(&self, pfn: u64, desc: &PageDesc, out: &mut [u8]) -> Result<(), KdumpError> {
        validate_descriptor(desc, self.page_size, self.header.status)
            .map_err(|e| with_pfn(e, pfn))?;
        let data_start = self.data_offset();
        let offset = desc.offset as u64;
        let end = offset.saturating_add(desc.size as u64);
        if offset < data_start || end > self.file_size {
            return Err(KdumpError::invalid(
                KInvariant::K14,
                Some(offset),
                Some(pfn),
                format!(
                    "page data [{offset:#x}, {end:#x}) is outside [{data_start:#x}, {:#x}) \
                     (end of descriptors to end of file)",
                    self.file_size
                ),
            ));
        }
        let method = desc.compression().unwrap_or(Compression::None);
        if method == Compression::None {
            return read_structure(&self.reader, offset, out, KInvariant::K14, "page data")
                .map_err(|e| with_pfn(e, pfn));
        }
        let mut packed = vec![0u8; desc.size as usize];
        read_structure(
            &self.reader,
            offset,
            &mut packed,
            KInvariant::K14,
            "page data",
        )
        .map_err(|e| with_pfn(e, pfn))?;
        decompress_page(method, &packed, out, offset, pfn)
    }
}
