//! Streaming the pages of a dump into the `PT_LOAD` segments of its ELF file: descriptors in windows,
//! pages decompressed on every core (rayon) while the previous window is written, in file order; zero pages and excluded pages are not
//! written at all (holes in a file, zeros on a stream).

use rayon::prelude::*;

use crate::kdump::walk::{is_zero_page_reference, shared_zero_page, walk_descriptors_in_windows};
use crate::kdump::{KInvariant, KdumpError, KdumpFile, KdumpSet};
use crate::model::qemu_elf::ElfSegment;
use crate::readat::ReadAt;
use crate::sink::DumpSink;

use super::plan::ElfPlan;
use super::ToElfError;

/// Decompressed bytes of one window of pages (two are held: one being written, one being decompressed).
const WINDOW_BYTES: u64 = 8 << 20;
/// Pages one rayon task decompresses.
const BATCH: usize = 64;

/// Page counts of a conversion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PageTotals {
    /// Dumped pages (descriptors) read.
    pub dumped: u64,
    /// Of those, pages holding data, written to the file.
    pub written: u64,
    /// Of those, all-zero pages: left as holes.
    pub zero: u64,
}

/// One page of a window: `None` when it is all zeros.
type Decoded = (u64, Option<Vec<u8>>);

/// Where the pages of the segments go in the file, looked up in ascending pfn order.
struct SegmentCursor<'a> {
    segments: &'a [ElfSegment],
    offsets: Vec<u64>,
    next: usize,
}

impl SegmentCursor<'_> {
    /// The file range that the page at `addr` (`len` bytes) fills: (file offset, bytes of the page to
    /// write), or `None` if no segment stores it.
    fn locate(&mut self, addr: u64, len: u64) -> Option<(u64, u64)> {
        while let Some(s) = self.segments.get(self.next) {
            if addr >= s.phys_addr + s.file_size && addr >= s.phys_addr {
                self.next += 1;
                continue;
            }
            if addr < s.phys_addr {
                return None;
            }
            let within = addr - s.phys_addr;
            let n = len.min(s.file_size - within);
            return Some((self.offsets[self.next] + within, n));
        }
        None
    }
}

fn decode_window<R: ReadAt>(
    part: &KdumpFile<R>,
    entries: &[crate::kdump::walk::DescriptorEntry],
    zero_page: Option<u64>,
    page_size: u64,
) -> Result<Vec<Decoded>, KdumpError> {
    let batches: Vec<Result<Vec<Decoded>, KdumpError>> = entries
        .par_chunks(BATCH)
        .map(|batch| {
            let mut out = Vec::with_capacity(batch.len());
            for entry in batch {
                if is_zero_page_reference(&entry.desc, zero_page, page_size) {
                    out.push((entry.pfn, None));
                    continue;
                }
                let mut page = vec![0u8; page_size as usize];
                part.load_page(entry.pfn, &entry.desc, &mut page)?;
                let data = page.iter().any(|&b| b != 0).then_some(page);
                out.push((entry.pfn, data));
            }
            Ok(out)
        })
        .collect();
    let mut pages = Vec::with_capacity(entries.len());
    for batch in batches {
        pages.extend(batch?);
    }
    Ok(pages)
}

/// Writes the data pages of one decoded window at their file offsets; counts zero pages (left as holes).
fn place_pages(
    pages: &[Decoded],
    page_size: u64,
    cursor: &mut SegmentCursor<'_>,
    sink: &mut dyn DumpSink,
    totals: &mut PageTotals,
) -> Result<(), ToElfError> {
    for (pfn, data) in pages {
        totals.dumped += 1;
        let addr = pfn * page_size;
        let (offset, len) = cursor.locate(addr, page_size).ok_or_else(|| {
            ToElfError::Input(format!(
                "pfn {pfn:#x} (address {addr:#x}) is dumped but no segment holds it"
            ))
        })?;
        match data {
            Some(page) => {
                totals.written += 1;
                sink.write_at(offset, &page[..len as usize])
                    .map_err(|source| ToElfError::Io {
                        what: format!("writing pfn {pfn:#x} at offset {offset:#x}"),
                        source,
                    })?;
            }
            None => totals.zero += 1,
        }
    }
    Ok(())
}

/// Writes every dumped page of `set` into its place in the file `plan` describes, through `sink`;
/// `progress` gets the guest-physical address reached.
pub fn write_pages<R: ReadAt>(
    set: &KdumpSet<R>,
    plan: &ElfPlan,
    sink: &mut dyn DumpSink,
    progress: &dyn Fn(u64),
) -> Result<PageTotals, ToElfError> {
    let ps = plan.page_size;
    let window = (WINDOW_BYTES / ps).max(1) as usize;
    let mut cursor = SegmentCursor {
        segments: &plan.layout.segments,
        offsets: plan.layout.segment_offsets(),
        next: 0,
    };
    let mut totals = PageTotals::default();
    // Pipelined: while a helper thread decompresses window n+1 (on the rayon pool), this thread writes
    // window n.
    let mut pending: Vec<Decoded> = Vec::new();
    for part in set.parts() {
        let zero_page = shared_zero_page(part)?;
        // The walk's callback can only fail with a KdumpError; a conversion error is kept here and the
        // walk stopped with a placeholder, which is then replaced by it.
        let mut failure: Option<ToElfError> = None;
        let end = walk_descriptors_in_windows(part, window, |entries| {
            let (decoded, placed) = std::thread::scope(|scope| {
                let decoder = scope.spawn(|| decode_window(part, entries, zero_page, ps));
                let placed = place_pages(&pending, ps, &mut cursor, sink, &mut totals);
                let decoded = decoder
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (decoded, placed)
            });
            if let Err(e) = placed {
                failure = Some(e);
                return Err(KdumpError::invalid(KInvariant::K12, None, None, "stopped"));
            }
            if let Some(&(pfn, _)) = pending.last() {
                progress(pfn * ps);
            }
            pending = decoded?;
            Ok(())
        })
        .map_err(|e| failure.take().unwrap_or(ToElfError::Kdump(e)))?;
        if let Some((pfn, offset, missing)) = end.truncated {
            return Err(ToElfError::Kdump(KdumpError::invalid(
                KInvariant::K12,
                Some(offset),
                Some(pfn),
                format!("the file ends before this descriptor; {missing} descriptors are missing"),
            )));
        }
    }
    place_pages(&pending, ps, &mut cursor, sink, &mut totals)?;
    Ok(totals)
}
