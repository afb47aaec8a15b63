//! K12–K16 over the descriptors and the page data: the file reaches the end of the descriptors (K12),
//! every descriptor is well-formed (K13) and points inside the data area (K14), data ranges are in order
//! and disjoint except the shared zero page (K15), and every page decompresses to one page (K16), on all
//! cores.

use rayon::prelude::*;

use super::report::FileReport;
use crate::compress::{flags, Compression};
use crate::kdump::walk::{
    is_zero_page_reference, shared_zero_page, walk_descriptors_in_windows, DescriptorEntry,
    PageCounts,
};
use crate::kdump::{decompress_page, validate_descriptor, KInvariant, KdumpError, KdumpFile};
use crate::readat::ReadAt;

/// Descriptors validated between two parallel decompression rounds (6 MiB of descriptors): few rounds,
/// so few hand-overs between threads.
const CHECK_WINDOW: usize = 1 << 18;
/// Pages decompressed per parallel task.
const BATCH: usize = 256;
/// Largest contiguous span read at once for a batch of pages.
const MAX_SPAN: u64 = 8 << 20;

/// K12: the file reaches the end of its descriptors (a split part without pages that ends inside bitmap
/// 2's block padding is a warning: makedumpfile writes it in cyclic mode).
pub(super) fn check_descriptor_area<R: ReadAt>(dump: &KdumpFile<R>, out: &mut FileReport<'_>) {
    let descriptors_end = dump.data_offset();
    let bitmaps = dump.bitmaps();
    if dump.descriptor_count() == 0 && bitmaps.bitmap2_stored < bitmaps.len {
        out.warning(
            KInvariant::K12,
            Some(dump.file_size()),
            format!(
                "the file ends at {:#x}, inside bitmap 2's block padding (after the bits of every pfn) and \
                 before where descriptors would start ({descriptors_end:#x}); it has no pages. makedumpfile \
                 writes this for a --split part without pages in cyclic mode; readers that read whole \
                 bitmap blocks may fail on it",
                dump.file_size()
            ),
        );
    } else if dump.file_size() < descriptors_end {
        out.violation(
            KInvariant::K12,
            Some(dump.file_size()),
            None,
            format!(
                "the file ends at {:#x}, before the end of its {} page descriptors at {descriptors_end:#x}",
                dump.file_size(),
                dump.descriptor_count()
            ),
        );
    }
}

/// A page to decompress.
#[derive(Clone, Copy)]
struct Job {
    pfn: u64,
    offset: u64,
    size: u32,
    method: Compression,
}

/// K13–K16 over every descriptor; returns the end of the page data (for K17).
pub(super) fn check_pages<R: ReadAt>(
    dump: &KdumpFile<R>,
    out: &mut FileReport<'_>,
) -> Result<u64, KdumpError> {
    let ps = dump.page_size();
    let data_start = dump.data_offset();
    let file_size = dump.file_size();
    let status = dump.header().status;
    let zero_page = shared_zero_page(dump)?;
    let mut prev_end = data_start;
    if let Some(zero) = zero_page {
        prev_end = zero + ps;
    }
    let mut zero_references = 0u64;
    let mut unwritten = 0u64;
    let mut data_end = data_start;
    let mut jobs: Vec<Job> = Vec::new();
    let mut counts = PageCounts::default();
    let mut decompressed = 0u64;
    let mut data_bytes = 0u64;
    let end = walk_descriptors_in_windows(dump, CHECK_WINDOW, |entries: &[DescriptorEntry]| {
        jobs.clear();
        for entry in entries {
            let desc = &entry.desc;
            counts.dumped += 1;
            if desc.offset == 0 && status & flags::INCOMPLETE != 0 {
                // makedumpfile stopped before writing this page (e.g. the disk filled up) and said so.
                unwritten += 1;
                continue;
            }
            if let Err(e) = validate_descriptor(desc, ps, status) {
                push_error(out, e, entry);
                continue;
            }
            let offset = desc.offset as u64;
            let range_end = offset.saturating_add(desc.size as u64);
            if offset < data_start || range_end > file_size {
                out.violation_with(
                    KInvariant::K14,
                    Some(entry.desc_offset),
                    Some(entry.pfn),
                    || format!(
                        "page data [{offset:#x}, {range_end:#x}) is outside [{data_start:#x}, {file_size:#x}) \
                         (end of descriptors to end of file)"
                    ),
                );
                continue;
            }
            data_end = data_end.max(range_end);
            if is_zero_page_reference(desc, zero_page, ps) {
                counts.zero += 1;
                zero_references += 1;
                if zero_references > 1 {
                    continue;
                }
            } else {
                if desc.is_compressed() {
                    counts.compressed += 1;
                } else {
                    counts.raw += 1;
                }
                if offset < prev_end {
                    out.violation_with(
                        KInvariant::K15,
                        Some(entry.desc_offset),
                        Some(entry.pfn),
                        || format!(
                            "page data at {offset:#x} starts before the end {prev_end:#x} of the previous \
                             page's data (overlap or out of order)"
                        ),
                    );
                }
                prev_end = prev_end.max(range_end);
            }
            jobs.push(Job {
                pfn: entry.pfn,
                offset,
                size: desc.size,
                method: desc.compression().unwrap_or(Compression::None),
            });
        }
        let results: Vec<(Vec<KdumpError>, u64, u64)> = jobs
            .par_chunks(BATCH)
            .map(|batch| decompress_batch(dump, batch))
            .collect();
        for (errors, pages, bytes) in results {
            decompressed += pages;
            data_bytes += bytes;
            for e in errors {
                out.report.error(out.file, e);
            }
        }
        (out.progress)(out.done_before + data_end);
        Ok(())
    })?;
    if unwritten > 0 {
        out.warning(
            KInvariant::K14,
            None,
            format!(
                "{unwritten} page(s) were not written (offset 0; the dump is marked incomplete)"
            ),
        );
    }
    if let Some((pfn, descriptor_offset, missing)) = end.truncated {
        out.violation(
            KInvariant::K12,
            Some(descriptor_offset),
            Some(pfn),
            format!("the file ends before this descriptor; {missing} descriptors are missing"),
        );
    }
    let stats = &mut out.report.stats;
    stats.pages.dumped += counts.dumped;
    stats.pages.zero += counts.zero;
    stats.pages.compressed += counts.compressed;
    stats.pages.raw += counts.raw;
    stats.pages_decompressed += decompressed;
    stats.data_bytes += data_bytes;
    Ok(data_end)
}

fn push_error(out: &mut FileReport<'_>, error: KdumpError, entry: &DescriptorEntry) {
    match error {
        KdumpError::Invalid {
            invariant, message, ..
        } => out.violation(
            invariant,
            Some(entry.desc_offset),
            Some(entry.pfn),
            format!(
                "descriptor {{offset {:#x}, size {}, flags {:#x}}}: {message}",
                entry.desc.offset, entry.desc.size, entry.desc.flags
            ),
        ),
        other => out.report.error(out.file, other),
    }
}

/// Reads and decompresses a batch of pages: one read when their data is contiguous enough.
fn decompress_batch<R: ReadAt>(dump: &KdumpFile<R>, batch: &[Job]) -> (Vec<KdumpError>, u64, u64) {
    let mut errors = Vec::new();
    let mut page = vec![0u8; dump.page_size() as usize];
    let span_start = batch.iter().map(|j| j.offset).min().unwrap_or(0);
    let span_end = batch
        .iter()
        .map(|j| j.offset + j.size as u64)
        .max()
        .unwrap_or(0);
    let mut span = Vec::new();
    let spanned = span_end - span_start <= MAX_SPAN
        && span_end - span_start <= 2 * batch.iter().map(|j| j.size as u64).sum::<u64>() + 4096;
    if spanned {
        span.resize((span_end - span_start) as usize, 0);
        if let Err(e) = dump.reader().read_exact_at(span_start, &mut span) {
            errors.push(KdumpError::Io {
                offset: span_start,
                source: e,
            });
            return (errors, 0, 0);
        }
    }
    let mut single = Vec::new();
    let mut bytes = 0u64;
    for job in batch {
        let packed: &[u8] = if spanned {
            let at = (job.offset - span_start) as usize;
            &span[at..at + job.size as usize]
        } else {
            single.resize(job.size as usize, 0);
            if let Err(e) = dump.reader().read_exact_at(job.offset, &mut single) {
                errors.push(KdumpError::Io {
                    offset: job.offset,
                    source: e,
                });
                continue;
            }
            &single
        };
        bytes += job.size as u64;
        if let Err(e) = decompress_page(job.method, packed, &mut page, job.offset, job.pfn) {
            errors.push(e);
        }
    }
    (errors, batch.len() as u64, bytes)
}
