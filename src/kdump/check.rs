//! The strict validator: every invariant K1–K18 over one file or a split set, every violation reported
//! (the first [`KEPT_PER_INVARIANT`] of each kept in full, all counted), every page decompressed on all
//! cores.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use super::bitmap::Which;
use super::error::{KInvariant, KdumpError};
use super::header::{expected_bitmap_blocks, MAX_HEADER_VERSION};
use super::set::{first_bitmap_difference, BitmapReadError};
use super::walk::{
    is_zero_page_reference, shared_zero_page, walk_descriptors_in_windows, DescriptorEntry,
    PageCounts,
};
use super::{decompress_page, split_set_problems, validate_descriptor, Headers, KdumpFile};
use crate::compress::{flags, Compression};
use crate::readat::ReadAt;

/// Violations (and warnings) kept in full per invariant; the rest are only counted.
pub const KEPT_PER_INVARIANT: usize = 100;
/// Descriptors validated between two parallel decompression rounds (6 MiB of descriptors): few rounds,
/// so few hand-overs between threads.
const CHECK_WINDOW: usize = 1 << 18;
/// Pages decompressed per parallel task.
const BATCH: usize = 256;
/// Largest contiguous span read at once for a batch of pages.
const MAX_SPAN: u64 = 8 << 20;

/// Architectures `utsname.machine` may name (K6).
pub const KNOWN_MACHINES: &[&str] = &[
    "x86_64",
    "i386",
    "i486",
    "i586",
    "i686",
    "aarch64",
    "arm64",
    "arm",
    "armv5tel",
    "armv5tejl",
    "armv6l",
    "armv7l",
    "armv8l",
    "ppc",
    "ppc64",
    "ppc64le",
    "s390",
    "s390x",
    "riscv32",
    "riscv64",
    "mips",
    "mips64",
    "loongarch64",
    "sparc64",
    "ia64",
    "alpha",
    "sh",
];

/// One broken invariant (or a warning), where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The invariant.
    pub id: KInvariant,
    /// Byte offset in the (reassembled) file, when one applies.
    pub offset: Option<u64>,
    /// Page frame number, when one applies.
    pub pfn: Option<u64>,
    /// Index of the file in the set given to [`check`].
    pub file: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(offset) = self.offset {
            write!(f, " at offset {offset:#x}")?;
        }
        if let Some(pfn) = self.pfn {
            write!(f, " (pfn {pfn:#x})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Figures gathered while checking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckStats {
    /// Files in the set.
    pub files: usize,
    /// Page counts over the set (in-memory and excluded counts from the first file's bitmaps).
    pub pages: PageCounts,
    /// Pages whose data was read and decompressed (the shared zero page once per file).
    pub pages_decompressed: u64,
    /// Bytes of page data read.
    pub data_bytes: u64,
}

/// The outcome of [`check`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Violations, at most [`KEPT_PER_INVARIANT`] per invariant, in the order found.
    pub violations: Vec<Violation>,
    /// Number of violations of each invariant (all of them, kept or not).
    pub violation_counts: BTreeMap<KInvariant, u64>,
    /// Warnings (K3 for files newer than known, K5, K6, gaps), capped like violations.
    pub warnings: Vec<Violation>,
    /// Number of warnings of each invariant.
    pub warning_counts: BTreeMap<KInvariant, u64>,
    /// I/O errors that stopped part of the check (the report is then incomplete).
    pub io_errors: Vec<String>,
    /// Figures.
    pub stats: CheckStats,
}

impl CheckReport {
    /// True if no invariant is violated (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.violation_counts.is_empty()
    }

    /// Total number of violations.
    pub fn violation_total(&self) -> u64 {
        self.violation_counts.values().sum()
    }

    /// True if `id` was violated at least once.
    pub fn has(&self, id: KInvariant) -> bool {
        self.violation_counts.contains_key(&id)
    }

    /// True if violations of `id` are no longer kept in full (only counted).
    fn is_full(&self, id: KInvariant) -> bool {
        self.violation_counts.get(&id).copied().unwrap_or(0) >= KEPT_PER_INVARIANT as u64
    }

    /// Counts `n` violations of `id` without keeping them (used once [`CheckReport::is_full`]).
    fn count_only(&mut self, id: KInvariant, n: u64) {
        if n > 0 {
            *self.violation_counts.entry(id).or_insert(0) += n;
        }
    }

    fn violation(&mut self, v: Violation) {
        let count = self.violation_counts.entry(v.id).or_insert(0);
        *count += 1;
        if *count <= KEPT_PER_INVARIANT as u64 {
            self.violations.push(v);
        }
    }

    fn warning(&mut self, v: Violation) {
        let count = self.warning_counts.entry(v.id).or_insert(0);
        *count += 1;
        if *count <= KEPT_PER_INVARIANT as u64 {
            self.warnings.push(v);
        }
    }

    fn error(&mut self, file: usize, error: KdumpError) {
        match &error {
            KdumpError::Invalid {
                invariant,
                offset,
                pfn,
                message,
            } => self.violation(Violation {
                id: *invariant,
                offset: *offset,
                pfn: *pfn,
                file,
                message: message.clone(),
            }),
            KdumpError::Io { .. } => self.io_errors.push(format!("file {file}: {error}")),
            other => self.violation(Violation {
                id: KInvariant::K12,
                offset: None,
                pfn: None,
                file,
                message: other.to_string(),
            }),
        }
    }
}

/// Builds violations for one file.
struct FileReport<'a> {
    report: &'a mut CheckReport,
    file: usize,
    /// Called with the bytes checked so far (earlier files whole, this one up to its page data done).
    progress: &'a (dyn Fn(u64) + Sync),
    /// Total size of the earlier files.
    done_before: u64,
}

impl FileReport<'_> {
    fn violation(
        &mut self,
        id: KInvariant,
        offset: Option<u64>,
        pfn: Option<u64>,
        message: String,
    ) {
        self.report.violation(Violation {
            id,
            offset,
            pfn,
            file: self.file,
            message,
        });
    }

    /// Like `violation`, formatting the message only if the violation is kept.
    fn violation_with(
        &mut self,
        id: KInvariant,
        offset: Option<u64>,
        pfn: Option<u64>,
        message: impl FnOnce() -> String,
    ) {
        if self.report.is_full(id) {
            self.report.count_only(id, 1);
        } else {
            self.violation(id, offset, pfn, message());
        }
    }

    fn warning(&mut self, id: KInvariant, offset: Option<u64>, message: String) {
        self.report.warning(Violation {
            id,
            offset,
            pfn: None,
            file: self.file,
            message,
        });
    }
}

/// Checks a kdump-compressed file, or the files of one split set, against K1–K18.
///
/// Runs on rayon's current pool (the global one unless called inside `ThreadPool::install`), on one of its
/// workers, so the calling thread's work and the parallel decompression share the pool's threads.
pub fn check(files: &[&dyn ReadAt]) -> CheckReport {
    check_with_progress(files, &|_| {})
}

/// [`check`], calling `progress` now and then with the number of bytes checked so far (out of the sum of
/// the files' sizes), for a progress bar.
pub fn check_with_progress(files: &[&dyn ReadAt], progress: &(dyn Fn(u64) + Sync)) -> CheckReport {
    rayon::scope(|_| check_on_pool(files, progress))
}

fn check_on_pool(files: &[&dyn ReadAt], progress: &(dyn Fn(u64) + Sync)) -> CheckReport {
    let mut report = CheckReport::default();
    report.stats.files = files.len();
    let mut opened = Vec::with_capacity(files.len());
    let mut done_before = 0;
    for (index, &reader) in files.iter().enumerate() {
        let mut out = FileReport {
            report: &mut report,
            file: index,
            progress,
            done_before,
        };
        opened.push(open_and_check(reader, &mut out, index == 0));
        done_before += reader.size().unwrap_or(0);
        progress(done_before);
    }
    check_split_set(&opened, &mut report);
    report
}

/// Checks one file; returns it opened if its pages could be located.
fn open_and_check<'a>(
    reader: &'a dyn ReadAt,
    out: &mut FileReport<'_>,
    first: bool,
) -> Option<KdumpFile<&'a dyn ReadAt>> {
    let headers = match Headers::read(reader) {
        Ok(headers) => headers,
        Err(e) => {
            out.report.error(out.file, e);
            return None;
        }
    };
    check_header(&headers, out);
    check_sub_header(&headers, out);
    match KdumpFile::from_headers(reader, headers) {
        Ok(dump) => {
            check_file(&dump, out, first);
            Some(dump)
        }
        Err(e) => {
            out.report.error(out.file, e);
            None
        }
    }
}

fn check_file<R: ReadAt>(dump: &KdumpFile<R>, out: &mut FileReport<'_>, first: bool) {
    if let Err(e) = check_bitmaps(dump, out, first) {
        out.report.error(out.file, e);
        return;
    }
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
    match check_pages(dump, out) {
        Ok(data_end) => check_eraseinfo(dump, out, data_end),
        Err(e) => out.report.error(out.file, e),
    }
}

fn check_header(dump: &Headers, out: &mut FileReport<'_>) {
    let h = &dump.header;
    if h.header_version < 0 || h.header_version > MAX_HEADER_VERSION {
        out.violation(
            KInvariant::K3,
            Some(8),
            None,
            format!(
                "header_version is {}, expected 0..={MAX_HEADER_VERSION}",
                h.header_version
            ),
        );
    }
    let block_size = h.block_size as u32;
    if !block_size.is_power_of_two() {
        out.violation(
            KInvariant::K4,
            None,
            None,
            format!("block_size {block_size} is not a power of two"),
        );
    }
    if h.nr_cpus <= 0 {
        out.warning(KInvariant::K5, None, format!("nr_cpus is {}", h.nr_cpus));
    } else if dump.notes_error.is_none()
        && dump
            .sub_header
            .as_ref()
            .is_some_and(|s| s.notes_range().is_some())
        && dump.notes.prstatus_count() == 0
    {
        // Every writer emits one NT_PRSTATUS note per CPU: a zeroed note section would pass silently.
        out.warning(
            KInvariant::K5,
            dump.sub_header.as_ref().map(|s| s.offset_note),
            format!(
                "nr_cpus is {} but the notes hold no NT_PRSTATUS note",
                h.nr_cpus
            ),
        );
    }
    if !KNOWN_MACHINES.contains(&h.utsname.machine.as_str()) {
        out.warning(
            KInvariant::K6,
            Some(12 + 4 * 65),
            format!(
                "utsname.machine {:?} is not a known architecture",
                h.utsname.machine
            ),
        );
    }
    let unused = [
        ("total_ram_blocks", h.total_ram_blocks),
        ("device_blocks", h.device_blocks),
        ("written_blocks", h.written_blocks),
        ("current_cpu", h.current_cpu),
    ];
    for (name, value) in unused {
        if value != 0 {
            out.violation(
                KInvariant::K7,
                None,
                None,
                format!("{name} is {value:#x}, expected 0"),
            );
        }
    }
    let known = flags::COMPRESSION_MASK | flags::INCOMPLETE | flags::EXCLUDED_VMEMMAP;
    if h.status & !known != 0 {
        out.violation(
            KInvariant::K7,
            None,
            None,
            format!(
                "status {:#x} has unknown bits {:#x}",
                h.status,
                h.status & !known
            ),
        );
    }
    if h.compression_bits().count_ones() > 1 {
        out.violation(
            KInvariant::K7,
            None,
            None,
            format!("status {:#x} names several compressions", h.status),
        );
    }
    let expected = expected_bitmap_blocks(dump.max_mapnr(), dump.page_size());
    if h.bitmap_blocks as u64 != expected {
        out.violation(
            KInvariant::K9,
            None,
            None,
            format!(
                "bitmap_blocks is {}, expected {expected} for max_mapnr {:#x} and block_size {}",
                h.bitmap_blocks,
                dump.max_mapnr(),
                dump.page_size()
            ),
        );
    }
    if let Some(max64) = dump.sub_header.as_ref().and_then(|s| s.max_mapnr_64()) {
        let expected = max64.min(u32::MAX as u64);
        if h.max_mapnr as u64 != expected {
            out.violation(
                KInvariant::K10,
                None,
                None,
                format!(
                    "max_mapnr is {:#x}, expected min(max_mapnr_64 {max64:#x}, 2^32-1) = {expected:#x}",
                    h.max_mapnr
                ),
            );
        }
    }
}

fn check_sub_header(dump: &Headers, out: &mut FileReport<'_>) {
    let Some(sub) = dump.sub_header.as_ref() else {
        return;
    };
    let ps = dump.page_size();
    let blocks_end = ps.saturating_mul(1 + dump.header.sub_hdr_size.max(0) as u64);
    let sub_end = sub.file_offset + sub.size() as u64;
    if dump.header.sub_hdr_size < 1 || sub_end > blocks_end {
        out.violation(
            KInvariant::K8,
            Some(sub.file_offset),
            None,
            format!(
                "sub_hdr_size {} blocks cannot hold the {}-byte sub-header",
                dump.header.sub_hdr_size,
                sub.size()
            ),
        );
    }
    if let Some((offset, size)) = sub.notes_range() {
        if size > 0 {
            if offset != sub_end {
                out.violation(
                    KInvariant::K8,
                    Some(sub.file_offset),
                    None,
                    format!(
                        "offset_note is {offset:#x}, expected {sub_end:#x} (right after the sub-header)"
                    ),
                );
            }
            if offset.saturating_add(size) > blocks_end {
                out.violation(
                    KInvariant::K8,
                    Some(offset),
                    None,
                    format!(
                        "notes [{offset:#x}, {:#x}) run past the sub-header blocks (end {blocks_end:#x})",
                        offset.saturating_add(size)
                    ),
                );
            }
        }
    }
    if let Some((offset, size)) = sub.vmcoreinfo_range() {
        let (inside_start, inside_end) = match sub.notes_range() {
            Some((o, s)) => (o, o.saturating_add(s)),
            None => (sub_end, blocks_end),
        };
        if offset < inside_start || offset.saturating_add(size) > inside_end {
            out.violation(
                KInvariant::K8,
                Some(offset),
                None,
                format!(
                    "VMCOREINFO [{offset:#x}, {:#x}) is not inside [{inside_start:#x}, {inside_end:#x})",
                    offset.saturating_add(size)
                ),
            );
        }
    }
    if let Some(problem) = &dump.notes_error {
        out.violation(
            KInvariant::K8,
            problem.offset,
            None,
            problem.message.clone(),
        );
    }
}

/// K11, and the in-memory/excluded counts (taken from the first file only: a split set repeats them).
fn check_bitmaps<R: ReadAt>(
    dump: &KdumpFile<R>,
    out: &mut FileReport<'_>,
    first: bool,
) -> Result<(), KdumpError> {
    let reader = dump.reader();
    let bitmaps = dump.bitmaps();
    let max_mapnr = dump.max_mapnr();
    let mut second = vec![0u8; super::bitmap::SCAN_CHUNK];
    let mut in_memory = 0u64;
    let mut both = 0u64;
    let mut found = Vec::new();
    bitmaps.scan(reader, Which::InMemory, 0, bitmaps.len, |at, bytes| {
        bitmaps.read(reader, Which::Dumped, at, &mut second[..bytes.len()])?;
        for (i, (&a, &b)) in bytes.iter().zip(&second[..bytes.len()]).enumerate() {
            let byte_index = at + i as u64;
            let base = byte_index * 8;
            let valid: u8 = if base + 8 <= max_mapnr {
                0xff
            } else if base >= max_mapnr {
                0
            } else {
                ((1u16 << (max_mapnr - base)) - 1) as u8
            };
            in_memory += (a & valid).count_ones() as u64;
            both += (a & b & valid).count_ones() as u64;
            let not_subset = b & !a;
            let beyond = (a | b) & !valid;
            if not_subset | beyond == 0 {
                continue;
            }
            if found.is_empty() && out.report.is_full(KInvariant::K11) {
                let n = not_subset.count_ones() + beyond.count_ones();
                out.report.count_only(KInvariant::K11, n as u64);
                continue;
            }
            for (bits, which) in [(not_subset, 0u8), (beyond, 1u8)] {
                let mut bits = bits;
                while bits != 0 {
                    let bit = bits.trailing_zeros() as u64;
                    bits &= bits - 1;
                    found.push((which, base + bit, byte_index));
                }
            }
            if found.len() > 4096 {
                flush_bitmap_findings(&mut found, dump, out);
            }
        }
        Ok(())
    })?;
    flush_bitmap_findings(&mut found, dump, out);
    if first {
        out.report.stats.pages.in_memory = in_memory;
        out.report.stats.pages.excluded = in_memory - both;
    }
    Ok(())
}

fn flush_bitmap_findings<R: ReadAt>(
    found: &mut Vec<(u8, u64, u64)>,
    dump: &KdumpFile<R>,
    out: &mut FileReport<'_>,
) {
    let bitmaps = dump.bitmaps();
    for (which, pfn, byte_index) in found.drain(..) {
        if which == 0 {
            out.violation_with(
                KInvariant::K11,
                Some(bitmaps.bitmap2_offset + byte_index),
                Some(pfn),
                || "set in bitmap 2 (dumped) but not in bitmap 1 (memory)".into(),
            );
        } else {
            out.violation_with(
                KInvariant::K11,
                Some(bitmaps.bitmap1_offset + byte_index),
                Some(pfn),
                || format!("bit set at or beyond max_mapnr {:#x}", dump.max_mapnr()),
            );
        }
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
fn check_pages<R: ReadAt>(
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

fn check_eraseinfo<R: ReadAt>(dump: &KdumpFile<R>, out: &mut FileReport<'_>, data_end: u64) {
    let Some((offset, size)) = dump.sub_header().and_then(|s| s.eraseinfo_range()) else {
        return;
    };
    let end = offset.saturating_add(size);
    if offset < data_end || end > dump.file_size() {
        out.violation(
            KInvariant::K17,
            Some(offset),
            None,
            format!(
                "eraseinfo [{offset:#x}, {end:#x}) must lie in [{data_end:#x}, {:#x}) \
                 (after the page data, inside the file)",
                dump.file_size()
            ),
        );
    }
}

/// K18: the parts of a split set carry the same header and cover [0, max_mapnr) contiguously.
fn check_split_set<R: ReadAt>(opened: &[Option<KdumpFile<R>>], report: &mut CheckReport) {
    let parts: Vec<(usize, &KdumpFile<R>)> = opened
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.as_ref().map(|d| (i, d)))
        .collect();
    for (file, message) in split_set_problems(&parts, opened.len()) {
        report.violation(Violation {
            id: KInvariant::K18,
            offset: None,
            pfn: None,
            file,
            message,
        });
    }
    check_split_bitmaps(&parts, report);
}

/// K18: every file of a split set carries the same two bitmaps (makedumpfile writes both whole into each
/// file, and `join` refuses a set whose bitmaps differ); a reader of the set takes each pfn's bits from the
/// file holding the pfn, so a difference elsewhere would otherwise go unnoticed. At most one violation
/// per file and bitmap, at the first differing byte (see [`first_bitmap_difference`]).
fn check_split_bitmaps<R: ReadAt>(parts: &[(usize, &KdumpFile<R>)], report: &mut CheckReport) {
    let Some((&(first_index, first), others)) = parts.split_first() else {
        return;
    };
    for &(index, part) in others {
        let bitmaps = part.bitmaps();
        if bitmaps.len != first.bitmaps().len {
            // Different headers: reported by split_set_problems.
            continue;
        }
        for (which, name, offset) in [
            (Which::InMemory, "bitmap 1", bitmaps.bitmap1_offset),
            (Which::Dumped, "bitmap 2", bitmaps.bitmap2_offset),
        ] {
            match first_bitmap_difference(first, part, which) {
                Ok(None) => {}
                Ok(Some(byte)) => report.violation(Violation {
                    id: KInvariant::K18,
                    offset: Some(offset + byte),
                    pfn: Some(byte * 8),
                    file: index,
                    message: format!(
                        "its {name} differs from file {first_index}'s at byte {byte:#x} (pfns {:#x}..{:#x}): \
                         the files of a split set carry the same bitmaps",
                        byte * 8,
                        byte * 8 + 8
                    ),
                }),
                Err(BitmapReadError::Reference(e)) => {
                    report.error(first_index, e);
                    return;
                }
                Err(BitmapReadError::Other(e)) => report.error(index, e),
            }
        }
    }
}
