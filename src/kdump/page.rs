//! Pages as a reader sees them: what a pfn holds ([`PageContent`], [`PageState`]), decompressing one page
//! (K16), and guest-physical reads over any page source (one file or a split set).

use serde::Serialize;

use super::{KInvariant, KdumpError, KdumpFile};
use crate::compress::{self, Compression};
use crate::readat::ReadAt;

/// What a page of the dump holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageContent {
    /// The page's bytes, decompressed: exactly `page_size` of them (the shared zero page included).
    Data(Vec<u8>),
    /// The page is memory (bitmap 1) but was left out of the dump (dump level).
    Excluded,
    /// The page frame is not memory (not in bitmap 1).
    NotInMemory,
}

/// Where a page stands, from the bitmaps alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PageState {
    /// In bitmap 2: the dump holds a descriptor for it.
    Dumped,
    /// In bitmap 1 only.
    Excluded,
    /// In neither bitmap.
    NotInMemory,
}

/// What guest-physical reads need from a dump: its page size, its page count and one page at a time.
pub(crate) trait PageReader {
    fn page_size(&self) -> u64;
    fn max_pfn(&self) -> u64;
    fn read_page(&self, pfn: u64) -> Result<PageContent, KdumpError>;
}

impl<R: ReadAt> PageReader for KdumpFile<R> {
    fn page_size(&self) -> u64 {
        KdumpFile::page_size(self)
    }

    fn max_pfn(&self) -> u64 {
        KdumpFile::max_pfn(self)
    }

    fn read_page(&self, pfn: u64) -> Result<PageContent, KdumpError> {
        KdumpFile::read_page(self, pfn)
    }
}

/// Fills `buf` with guest-physical bytes of `dump` from `addr`, page by page (see
/// [`KdumpFile::read_phys`]).
pub(crate) fn read_phys_from(
    dump: &impl PageReader,
    addr: u64,
    buf: &mut [u8],
    zero_fill_excluded: bool,
) -> Result<(), KdumpError> {
    let mut done = 0usize;
    while done < buf.len() {
        let at = addr
            .checked_add(done as u64)
            .ok_or(KdumpError::PfnOutOfRange {
                pfn: u64::MAX / dump.page_size(),
                max_pfn: dump.max_pfn(),
            })?;
        let pfn = at / dump.page_size();
        let in_page = (at % dump.page_size()) as usize;
        let n = (dump.page_size() as usize - in_page).min(buf.len() - done);
        let target = &mut buf[done..done + n];
        match dump.read_page(pfn)? {
            PageContent::Data(page) => target.copy_from_slice(&page[in_page..in_page + n]),
            PageContent::Excluded | PageContent::NotInMemory if zero_fill_excluded => {
                target.fill(0)
            }
            PageContent::Excluded => {
                return Err(KdumpError::NoData {
                    pfn,
                    excluded: true,
                })
            }
            PageContent::NotInMemory => {
                return Err(KdumpError::NoData {
                    pfn,
                    excluded: false,
                })
            }
        }
        done += n;
    }
    Ok(())
}

/// Decompresses one page, naming K16 on failure.
pub fn decompress_page(
    method: Compression,
    packed: &[u8],
    out: &mut [u8],
    offset: u64,
    pfn: u64,
) -> Result<(), KdumpError> {
    compress::decompress_into(method, packed, out)
        .map_err(|e| KdumpError::invalid(KInvariant::K16, Some(offset), Some(pfn), e.to_string()))
}

/// `error` with `pfn` filled in, if it is an invariant violation that names none.
pub(crate) fn with_pfn(error: KdumpError, pfn: u64) -> KdumpError {
    match error {
        KdumpError::Invalid {
            invariant,
            offset,
            pfn: None,
            message,
        } => KdumpError::Invalid {
            invariant,
            offset,
            pfn: Some(pfn),
            message,
        },
        other => other,
    }
}
