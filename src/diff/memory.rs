//! The guest memory of one side, as the page comparison sees it: which pfns of a window are present (dumped
//! in a kdump file or split set, covered by a `PT_LOAD` of an ELF dump), and their bytes, loaded a batch at
//! a time (one read for a batch whose data lies together, as `check` does).

use super::side::{SharedReader, Side, SideContent};
use crate::compress::Compression;
use crate::elf::{guest_phys_read, ElfDump, MemoryBlock};
use crate::kdump::walk::{is_zero_page_reference, shared_zero_page};
use crate::kdump::{
    decompress_page, validate_descriptor, KdumpError, KdumpFile, KdumpSet, PageDesc, Which,
    PAGE_DESC_SIZE,
};
use crate::readat::ReadAt;

/// Largest contiguous span read at once for a batch of pages.
const MAX_SPAN: u64 = 8 << 20;

/// Where the bytes of a present page come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRef {
    /// A kdump page: the part of the set (index into `KdumpSet::parts`) and its descriptor.
    Stored {
        /// The part.
        part: usize,
        /// The descriptor.
        desc: PageDesc,
    },
    /// A kdump page whose descriptor cannot be read (the file ends first).
    Unreadable(String),
    /// An ELF page: read from the `PT_LOAD` segments that cover it.
    Elf,
}

/// The memory of one side.
pub enum MemoryView<'a> {
    /// A kdump file or split set.
    Kdump {
        /// The set.
        set: &'a KdumpSet<SharedReader>,
        /// Per part: the shared zero page's offset, if it has one.
        zero_pages: Vec<Option<u64>>,
        /// Per part: the rank of its first pfn in bitmap 2 (its first descriptor's index).
        first_ranks: Vec<u64>,
    },
    /// An ELF dump.
    Elf {
        /// Its headers.
        dump: &'a ElfDump,
        /// Its bytes.
        reader: &'a SharedReader,
        /// Its memory blocks sorted by address.
        blocks: Vec<MemoryBlock>,
        /// The page size of the comparison.
        page_size: u64,
    },
}

impl<'a> MemoryView<'a> {
    /// The memory of `side`, in pages of `page_size` bytes (an ELF dump takes the other side's).
    pub fn new(side: &'a Side, page_size: u64) -> Result<MemoryView<'a>, KdumpError> {
        match &side.content {
            SideContent::Kdump(set) => {
                let mut zero_pages = Vec::new();
                let mut first_ranks = Vec::new();
                for part in set.parts() {
                    zero_pages.push(shared_zero_page(part)?);
                    first_ranks.push(
                        part.bitmaps()
                            .rank_dumped(part.reader(), part.pfn_range().0)?,
                    );
                }
                Ok(MemoryView::Kdump {
                    set,
                    zero_pages,
                    first_ranks,
                })
            }
            SideContent::Elf { dump, reader } => {
                let mut blocks: Vec<MemoryBlock> = dump
                    .blocks
                    .iter()
                    .filter(|b| b.mem_size > 0)
                    .copied()
                    .collect();
                blocks.sort_by_key(|b| b.phys_addr);
                Ok(MemoryView::Elf {
                    dump,
                    reader,
                    blocks,
                    page_size,
                })
            }
        }
    }

    /// The first pfn at or after `pfn` that may be present, `None` if none is.
    pub fn next_candidate(&self, pfn: u64) -> Option<u64> {
        match self {
            MemoryView::Kdump { set, .. } => (pfn < set.max_pfn()).then_some(pfn),
            MemoryView::Elf {
                blocks, page_size, ..
            } => {
                let at = pfn.checked_mul(*page_size)?;
                let next = blocks.iter().find(|b| b.phys_end() > at)?;
                Some(pfn.max(next.phys_addr / page_size))
            }
        }
    }

    /// Appends the present pfns of [start, end), ascending, with where their bytes are.
    pub fn window(
        &self,
        start: u64,
        end: u64,
        out: &mut Vec<(u64, PageRef)>,
    ) -> Result<(), KdumpError> {
        match self {
            MemoryView::Kdump {
                set, first_ranks, ..
            } => {
                for (index, part) in set.parts().iter().enumerate() {
                    let (part_start, part_end) = part.pfn_range();
                    let (s, e) = (start.max(part_start), end.min(part_end));
                    if s < e {
                        kdump_window(part, index, first_ranks[index], s, e, out)?;
                    }
                }
                Ok(())
            }
            MemoryView::Elf {
                blocks, page_size, ..
            } => {
                let first = out.len();
                for block in blocks {
                    let block_start = block.phys_addr / page_size;
                    let block_end = block.phys_end().div_ceil(*page_size);
                    for pfn in block_start.max(start)..block_end.min(end) {
                        out.push((pfn, PageRef::Elf));
                    }
                }
                out[first..].sort_by_key(|(pfn, _)| *pfn);
                out.dedup_by_key(|(pfn, _)| *pfn);
                Ok(())
            }
        }
    }

    /// Loads the pages `items` (pfn, where) into consecutive pages of `buf`; one result per item: `Err`
    /// names why the page cannot be decoded (invariant, offset, pfn).
    pub fn load(&self, items: &[(u64, &PageRef)], buf: &mut [u8]) -> Vec<Result<(), String>> {
        let page_size = buf.len() / items.len().max(1);
        let mut results = Vec::with_capacity(items.len());
        for (i, (pfn, page_ref)) in items.iter().enumerate() {
            let page = &mut buf[i * page_size..(i + 1) * page_size];
            results.push(match page_ref {
                PageRef::Unreadable(why) => Err(why.clone()),
                PageRef::Elf => self.load_elf(*pfn, page),
                // loaded below, a batch per part
                PageRef::Stored { .. } => Ok(()),
            });
        }
        if let MemoryView::Kdump {
            set, zero_pages, ..
        } = self
        {
            let mut at = 0;
            while at < items.len() {
                let Some(part) = stored_part(items[at].1) else {
                    at += 1;
                    continue;
                };
                let mut next = at + 1;
                while next < items.len() && stored_part(items[next].1) == Some(part) {
                    next += 1;
                }
                let batch = StoredBatch {
                    file: &set.parts()[part],
                    zero_page: zero_pages[part],
                    items: &items[at..next],
                };
                let pages = &mut buf[at * page_size..next * page_size];
                batch.load(pages, &mut results[at..next]);
                at = next;
            }
        }
        results
    }

    /// The stored (compressed) bytes of each item of a kdump side whose descriptor is valid, with its
    /// flags; `None` for the others (zero-page references, ELF pages, invalid descriptors, failed reads).
    /// Two pages stored with the same flags and the same bytes decompress to the same page.
    pub fn stored_bytes(&self, items: &[(u64, &PageRef)]) -> Vec<Option<(u32, Vec<u8>)>> {
        let mut out = vec![None; items.len()];
        let MemoryView::Kdump {
            set, zero_pages, ..
        } = self
        else {
            return out;
        };
        for (i, (_, page_ref)) in items.iter().enumerate() {
            let PageRef::Stored { part, desc } = page_ref else {
                continue;
            };
            let file = &set.parts()[*part];
            let page_size = file.page_size();
            let offset = desc.offset as u64;
            let usable = !is_zero_page_reference(desc, zero_pages[*part], page_size)
                && validate_descriptor(desc, page_size, file.header().status).is_ok()
                && offset >= file.data_offset()
                && offset.saturating_add(desc.size as u64) <= file.file_size();
            if usable {
                let mut bytes = vec![0u8; desc.size as usize];
                if file.reader().read_exact_at(offset, &mut bytes).is_ok() {
                    out[i] = Some((desc.flags, bytes));
                }
            }
        }
        out
    }

    fn load_elf(&self, pfn: u64, page: &mut [u8]) -> Result<(), String> {
        let MemoryView::Elf {
            dump,
            reader,
            blocks,
            page_size,
        } = self
        else {
            return Err("not an ELF dump".into());
        };
        page.fill(0);
        let page_start = pfn * page_size;
        let page_end = page_start + page_size;
        let first = blocks.partition_point(|b| b.phys_end() <= page_start);
        for block in blocks[first..]
            .iter()
            .take_while(|b| b.phys_addr < page_end)
        {
            let from = block.phys_addr.max(page_start);
            let to = block.phys_end().min(page_end);
            let target = &mut page[(from - page_start) as usize..(to - page_start) as usize];
            guest_phys_read(dump, *reader, from, target)
                .map_err(|e| format!("ELF read of pfn {pfn:#x}: {e}"))?;
        }
        Ok(())
    }
}

fn stored_part(page_ref: &PageRef) -> Option<usize> {
    match page_ref {
        PageRef::Stored { part, .. } => Some(*part),
        _ => None,
    }
}

/// The dumped pfns of [s, e) of one part and their descriptors (read in one piece).
fn kdump_window(
    part: &KdumpFile<SharedReader>,
    index: usize,
    first_rank: u64,
    s: u64,
    e: u64,
    out: &mut Vec<(u64, PageRef)>,
) -> Result<(), KdumpError> {
    let reader = part.reader();
    let first_byte = s / 8;
    let mut bits = vec![0u8; (e.div_ceil(8) - first_byte) as usize];
    part.bitmaps()
        .read(reader, Which::Dumped, first_byte, &mut bits)?;
    let pfns: Vec<u64> = (s..e)
        .filter(|pfn| bits[(pfn / 8 - first_byte) as usize] >> (pfn % 8) & 1 == 1)
        .collect();
    if pfns.is_empty() {
        return Ok(());
    }
    let rank = part.bitmaps().rank_dumped(reader, s)? - first_rank;
    let offset = part.descriptors_offset() + rank * PAGE_DESC_SIZE;
    let wanted_end = offset + pfns.len() as u64 * PAGE_DESC_SIZE;
    let available = if wanted_end <= part.file_size() {
        pfns.len()
    } else {
        (part.file_size().saturating_sub(offset) / PAGE_DESC_SIZE) as usize
    };
    let mut raw = vec![0u8; available * PAGE_DESC_SIZE as usize];
    reader
        .read_exact_at(offset, &mut raw)
        .map_err(|source| KdumpError::Io { offset, source })?;
    let order = part.byte_order();
    for (i, &pfn) in pfns.iter().enumerate() {
        let at = i * PAGE_DESC_SIZE as usize;
        let page_ref = if i < available {
            PageRef::Stored {
                part: index,
                desc: PageDesc::decode(&raw[at..at + PAGE_DESC_SIZE as usize], order),
            }
        } else {
            PageRef::Unreadable(format!(
                "K12 at offset {:#x} (pfn {pfn:#x}): the file ends before this page's descriptor",
                offset + at as u64
            ))
        };
        out.push((pfn, page_ref));
    }
    Ok(())
}

/// Consecutive stored pages of one part, loaded together.
struct StoredBatch<'a> {
    file: &'a KdumpFile<SharedReader>,
    zero_page: Option<u64>,
    items: &'a [(u64, &'a PageRef)],
}

impl StoredBatch<'_> {
    /// Loads every page of the batch into `pages`, setting `results` for those that fail.
    fn load(&self, pages: &mut [u8], results: &mut [Result<(), String>]) {
        let page_size = self.file.page_size();
        let ps = page_size as usize;
        let status = self.file.header().status;
        let data_start = self.file.data_offset();
        let file_size = self.file.file_size();
        let mut to_read: Vec<(usize, u64, PageDesc)> = Vec::new();
        for (i, (pfn, page_ref)) in self.items.iter().enumerate() {
            let PageRef::Stored { desc, .. } = page_ref else {
                continue;
            };
            if is_zero_page_reference(desc, self.zero_page, page_size) {
                // shared_zero_page checked that its bytes are zero
                pages[i * ps..(i + 1) * ps].fill(0);
                continue;
            }
            let offset = desc.offset as u64;
            let end = offset.saturating_add(desc.size as u64);
            let problem = validate_descriptor(desc, page_size, status)
                .err()
                .map(|e| format!("{}", crate::kdump::with_pfn(e, *pfn)));
            if let Some(problem) = problem {
                results[i] = Err(problem);
            } else if offset < data_start || end > file_size {
                results[i] = Err(format!(
                    "K14 at offset {offset:#x} (pfn {pfn:#x}): page data [{offset:#x}, {end:#x}) is outside \
                     [{data_start:#x}, {file_size:#x}) (end of descriptors to end of file)"
                ));
            } else {
                to_read.push((i, *pfn, *desc));
            }
        }
        if to_read.is_empty() {
            return;
        }
        let span_start = to_read.iter().map(|r| r.2.offset as u64).min().unwrap_or(0);
        let span_end = to_read
            .iter()
            .map(|r| r.2.offset as u64 + r.2.size as u64)
            .max()
            .unwrap_or(0);
        let stored: u64 = to_read.iter().map(|r| r.2.size as u64).sum();
        let span_len = span_end - span_start;
        let mut span = Vec::new();
        if span_len <= MAX_SPAN && span_len <= 2 * stored + 4096 {
            span.resize(span_len as usize, 0);
            if let Err(e) = self.file.reader().read_exact_at(span_start, &mut span) {
                for (i, _, _) in &to_read {
                    results[*i] = Err(format!("I/O error at offset {span_start:#x}: {e}"));
                }
                return;
            }
        }
        let mut single = Vec::new();
        for (i, pfn, desc) in to_read {
            let offset = desc.offset as u64;
            let packed: &[u8] = if span.is_empty() {
                single.resize(desc.size as usize, 0);
                if let Err(e) = self.file.reader().read_exact_at(offset, &mut single) {
                    results[i] = Err(format!("I/O error at offset {offset:#x}: {e}"));
                    continue;
                }
                &single
            } else {
                let at = (offset - span_start) as usize;
                &span[at..at + desc.size as usize]
            };
            let page = &mut pages[i * ps..(i + 1) * ps];
            let method = desc.compression().unwrap_or(Compression::None);
            if method == Compression::None {
                page.copy_from_slice(packed);
            } else if let Err(e) = decompress_page(method, packed, page, offset, pfn) {
                results[i] = Err(e.to_string());
            }
        }
    }
}
