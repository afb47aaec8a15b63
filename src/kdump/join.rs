//! Joining the files of a makedumpfile `--split` set into one kdump-compressed file: byte for byte what
//! `makedumpfile --reassemble PART... OUT` writes (makedumpfile 1.7.2 and 1.7.6, `reassemble_kdump_header`
//! and `reassemble_kdump_pages`; tests/kdump_join.rs compares the two on real sets).
//!
//! The joined file, in the order it is written:
//! 1. the `disk_dump_header` (every part carries the same one);
//! 2. the `kdump_sub_header` of the part holding pfn 0, with its split fields (`split`, `start_pfn`,
//!    `end_pfn`, `start_pfn_64`, `end_pfn_64`) zeroed, and the ELF notes and VMCOREINFO text at their
//!    offsets; nothing else of the sub-header blocks;
//! 3. the bitmaps, all `bitmap_blocks` of them (every part carries them whole, except that a part
//!    without pages may end inside the block-rounding tail of bitmap 2, which reads as zeros);
//! 4. one descriptor per set bit of bitmap 2, in pfn order, the parts' descriptors one part after the
//!    other, then the page data. With dump level bit 1 (zero pages excluded) the data starts with one page
//!    of zeros, and a descriptor pointing at a part's shared zero page (right after the descriptors of the
//!    whole set, where every part keeps it: each reserves room for the descriptors of all) is replaced by
//!    one pointing at the joined file's. Every other page is copied as stored (compressed or not), its
//!    descriptor keeping size and flags with the new offset;
//! 5. when any part has eraseinfo (what `--config` erased), the parts' eraseinfo texts concatenated in
//!    pfn order after the data, and the sub-header written again with their offset and total size. Each
//!    `--split` child writes the whole text, so a set of N parts joins into a file holding it N times.
//!
//! Bytes never written (the rest of block 0 and of the sub-header blocks) are zeros. Split files made
//! by makedumpfile join into exactly the file it makes of the same input without `--split`.
//!
//! Unlike makedumpfile, [`join`] first checks that the files belong together beyond the header and
//! range checks of [`KdumpSet::new`] (K18): each has its split flag, the same sub-header fields (dump
//! level, notes, VMCOREINFO, max_mapnr_64) and the same bitmaps; and it validates each descriptor it
//! copies (K13, K14; a part marked incomplete whose descriptors were not all written is refused). It
//! redirects a descriptor to the zero page only if it is a raw page-sized one and the part holds zeros
//! there (makedumpfile redirects any descriptor with that offset, whatever the part holds; the two agree
//! on every set makedumpfile writes). It also takes each part's eraseinfo from that part: makedumpfile
//! pairs the eraseinfo offset and size of the i-th file *given* with the i-th file in pfn order, so with
//! parts given out of order and eraseinfo present it fails or copies the wrong bytes (see [`join`]).
//!
//! Memory is bounded whatever the input says: pages are copied one at a time (at most `block_size`
//! ≤ 256 KiB), descriptors and data go out in buffers of [`BUFFER`] bytes, other areas in chunks.

use std::io;

use serde::Serialize;

use super::descriptor::{PageDesc, PAGE_DESC_SIZE};
use super::error::{read_structure, KInvariant, KdumpError};
use super::header::ByteOrder;
use super::set::{first_bitmap_difference, BitmapReadError};
use super::subheader::KdumpSubHeader;
use super::walk::walk_descriptors;
use super::{split_set_problems, validate_descriptor, with_pfn, KdumpFile, KdumpSet, Which};
use crate::readat::ReadAt;
use crate::sink::DumpSink;

/// Bytes of descriptors, and of page data, gathered before each write; also the chunk size of copies.
pub const BUFFER: usize = 1 << 20;

/// makedumpfile's dump level bit for "exclude pages filled with zeros" (`DL_EXCLUDE_ZERO`).
const EXCLUDE_ZERO: i32 = 1;

/// What a join wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JoinSummary {
    /// Files joined.
    pub parts: usize,
    /// Descriptors written (pages dumped).
    pub pages: u64,
    /// Descriptors pointing at the shared zero page.
    pub zero_pages: u64,
    /// Bytes of page data written (the shared zero page included).
    pub data_bytes: u64,
    /// Bytes of eraseinfo written.
    pub eraseinfo_bytes: u64,
    /// Length of the joined file.
    pub output_len: u64,
}

/// Why a join failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// A part is invalid, or does not belong with the others. `part` is its index in
    /// [`KdumpSet::parts`] (pfn order); [`KdumpSet::given_index`] gives its place among the files given.
    #[error("part {part}: {error}")]
    Part {
        /// Index of the part in [`KdumpSet::parts`].
        part: usize,
        /// What is wrong with it.
        error: KdumpError,
    },
    /// Writing the joined file failed.
    #[error("cannot write the joined file: {0}")]
    Write(io::Error),
}

impl JoinError {
    /// True if the input is at fault (invalid or inconsistent parts), false for I/O errors (reading a
    /// part or writing the output).
    pub fn is_invalid_input(&self) -> bool {
        match self {
            JoinError::Part { error, .. } => error.is_invalid_input(),
            JoinError::Write(_) => false,
        }
    }
}

/// Where the areas of the joined file are (all from the part holding pfn 0).
struct Layout {
    page_size: u64,
    order: ByteOrder,
    /// Offset of the first descriptor.
    descriptors: u64,
    /// Descriptors of the whole set (set bits of bitmap 2 below max_mapnr).
    pages: u64,
    /// Offset of the page data: after the descriptors of the whole set.
    data: u64,
    /// Whether the data starts with the shared zero page (dump level bit 1).
    zero_page: bool,
}

/// Joins the parts of `set` into one kdump-compressed file written through `sink` (a
/// [`RawSink`](crate::sink::RawSink) over a file gives `makedumpfile --reassemble`'s bytes).
///
/// Fails if the set is not a complete split set whose parts agree (K18: split flags, sub-headers, bitmaps;
/// [`KdumpSet::new`] checked the headers and pfn ranges), or if a part breaks an invariant on the way
/// (K8 notes outside the sub-header blocks, K9 odd `bitmap_blocks` or bitmaps too short for max_mapnr,
/// K12 a part ending inside its descriptors, K13/K14 a bad descriptor or data outside the part, K17
/// eraseinfo outside the part). On failure part of the output may have been written: write into a
/// temporary file (see [`crate::output::AtomicOutput`]).
///
/// Eraseinfo: each part's own text is taken, in pfn order. makedumpfile 1.7.2 gives the same bytes when
/// the parts are given to it in pfn order (the usual `PART.1 PART.2 …`); given out of order it reads each
/// part's eraseinfo at the offset and size stated by another file.
pub fn join<R: ReadAt, S: DumpSink + ?Sized>(
    set: &KdumpSet<R>,
    sink: &mut S,
) -> Result<JoinSummary, JoinError> {
    join_with_progress(set, sink, &mut |_| {})
}

/// [`join`], calling `progress` now and then with the number of bytes of page data copied so far (for a
/// progress bar; the parts' sizes less their headers and bitmaps bound it).
pub fn join_with_progress<R: ReadAt, S: DumpSink + ?Sized>(
    set: &KdumpSet<R>,
    sink: &mut S,
    progress: &mut dyn FnMut(u64),
) -> Result<JoinSummary, JoinError> {
    let mut tracked = EndTracking { sink, end: 0 };
    let mut summary = write_joined(set, &mut tracked, progress)?;
    summary.output_len = tracked.end;
    Ok(summary)
}

/// A sink that remembers the largest end written (the length of a raw output), found by the `join`
/// fuzz target: a sub-header that its `sub_hdr_size` blocks cannot hold ends past the bitmaps.
struct EndTracking<'a, S: DumpSink + ?Sized> {
    sink: &'a mut S,
    end: u64,
}

impl<S: DumpSink + ?Sized> DumpSink for EndTracking<'_, S> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.sink.write_at(offset, data)?;
        if !data.is_empty() {
            self.end = self.end.max(offset.saturating_add(data.len() as u64));
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.sink.finish()
    }
}

/// The work of [`join_with_progress`]; the summary's `output_len` is set by the caller.
fn write_joined<R: ReadAt, S: DumpSink + ?Sized>(
    set: &KdumpSet<R>,
    sink: &mut S,
    progress: &mut dyn FnMut(u64),
) -> Result<JoinSummary, JoinError> {
    let layout = check_parts(set)?;
    let first = set.first();
    let sub_header = first_sub_header(set)?;
    let write = JoinError::Write;
    let from_first = |error| JoinError::Part { part: 0, error };

    // 1-3: header, sub-header (split fields zeroed), notes and VMCOREINFO, bitmaps.
    copy_area(first, 0, first.header().size() as u64, sink, 0).map_err(|f| f.in_part(0))?;
    let mut sub_header_bytes = read_sub_header_bytes(first, sub_header).map_err(from_first)?;
    for (at, width) in sub_header.layout.split_fields() {
        sub_header_bytes[at..at + width].fill(0);
    }
    sink.write_at(layout.page_size, &sub_header_bytes)
        .map_err(write)?;
    for (offset, size) in [sub_header.notes_range(), sub_header.vmcoreinfo_range()]
        .into_iter()
        .flatten()
        .filter(|&(_, size)| size > 0)
    {
        copy_area(first, offset, size, sink, offset).map_err(|f| f.in_part(0))?;
    }
    scan_bitmaps(first, |offset, bytes| {
        sink.write_at(offset, bytes).map_err(Failure::Write)
    })
    .map_err(|f| f.in_part(0))?;

    // 4: descriptors and data.
    let mut out = PageWriter::new(sink, &layout);
    let zero_desc = PageDesc {
        offset: layout.data as i64,
        size: layout.page_size as u32,
        flags: 0,
        page_flags: 0,
    };
    if layout.zero_page {
        out.push_data(&vec![0u8; layout.page_size as usize])
            .map_err(|f| f.in_part(0))?;
    }
    let mut summary = JoinSummary {
        parts: set.parts().len(),
        ..JoinSummary::default()
    };
    let mut page = vec![0u8; layout.page_size as usize];
    for (index, part) in set.parts().iter().enumerate() {
        copy_pages(
            part,
            &layout,
            &zero_desc,
            &mut out,
            &mut page,
            &mut summary,
            progress,
        )
        .map_err(|f| f.in_part(index))?;
    }
    if summary.pages != layout.pages {
        return Err(from_first(KdumpError::invalid(
            KInvariant::K18,
            None,
            None,
            format!(
                "the parts hold {} descriptors, bitmap 2 has {} set bits",
                summary.pages, layout.pages
            ),
        )));
    }
    let data_end = out.finish().map_err(write)?;
    summary.data_bytes = data_end - layout.data;

    // 5: eraseinfo, and the sub-header again to point at it.
    let mut eraseinfo_end = data_end;
    for (index, part) in set.parts().iter().enumerate() {
        let range = part.sub_header().and_then(|s| s.eraseinfo_range());
        if let Some((offset, size)) = range {
            copy_area(part, offset, size, sink, eraseinfo_end).map_err(|f| f.in_part(index))?;
            eraseinfo_end += size;
        }
    }
    summary.eraseinfo_bytes = eraseinfo_end - data_end;
    if summary.eraseinfo_bytes > 0 {
        let [(offset_at, _), (size_at, size_width)] = sub_header.layout.eraseinfo_fields();
        let order = layout.order;
        order.put_u64(&mut sub_header_bytes, offset_at, data_end);
        if size_width == 8 {
            order.put_u64(&mut sub_header_bytes, size_at, summary.eraseinfo_bytes);
        } else {
            let size = u32::try_from(summary.eraseinfo_bytes).map_err(|_| {
                from_first(KdumpError::invalid(
                    KInvariant::K17,
                    None,
                    None,
                    format!(
                        "{} bytes of eraseinfo do not fit the 32-bit size_eraseinfo",
                        summary.eraseinfo_bytes
                    ),
                ))
            })?;
            order.put_u32(&mut sub_header_bytes, size_at, size);
        }
        sink.write_at(layout.page_size, &sub_header_bytes)
            .map_err(write)?;
    }
    Ok(summary)
}

/// The sub-header of the first part (a split part always has one).
fn first_sub_header<R: ReadAt>(set: &KdumpSet<R>) -> Result<&KdumpSubHeader, JoinError> {
    set.first().sub_header().ok_or_else(|| JoinError::Part {
        part: 0,
        error: not_split(),
    })
}

fn not_split() -> KdumpError {
    KdumpError::invalid(
        KInvariant::K18,
        None,
        None,
        "its split flag is not set: it is not a part of a makedumpfile --split set",
    )
}

/// Checks what makes the parts one set beyond [`KdumpSet::new`]'s checks, and lays out the joined file.
fn check_parts<R: ReadAt>(set: &KdumpSet<R>) -> Result<Layout, JoinError> {
    let part_error = |part: usize, invariant, offset, message: String| JoinError::Part {
        part,
        error: KdumpError::invalid(invariant, offset, None, message),
    };
    for (index, part) in set.parts().iter().enumerate() {
        if !part.sub_header().is_some_and(|s| s.is_split()) {
            return Err(JoinError::Part {
                part: index,
                error: not_split(),
            });
        }
    }
    // KdumpSet::new checks several files; a lone part must cover everything as well.
    let numbered: Vec<(usize, &KdumpFile<R>)> = set.parts().iter().enumerate().collect();
    if let Some((part, problem)) = split_set_problems(&numbered, numbered.len())
        .into_iter()
        .next()
    {
        return Err(part_error(part, KInvariant::K18, None, problem));
    }
    let first = set.first();
    let header = first.header();
    let sub_header = first_sub_header(set)?;
    let page_size = first.page_size();
    let bitmap_blocks = header.bitmap_blocks as u64;
    if bitmap_blocks % 2 != 0 {
        return Err(part_error(
            0,
            KInvariant::K9,
            Some(0),
            format!("bitmap_blocks is odd ({bitmap_blocks}): where bitmap 2 starts is ambiguous"),
        ));
    }
    if first.max_pfn() != first.max_mapnr() {
        return Err(part_error(
            0,
            KInvariant::K9,
            Some(0),
            format!(
                "the bitmaps cover {:#x} pfns, fewer than max_mapnr {:#x}",
                first.max_pfn(),
                first.max_mapnr()
            ),
        ));
    }
    let sub_header_end = page_size + sub_header.size() as u64;
    let sub_header_blocks_end = page_size * (1 + header.sub_hdr_size.max(0) as u64);
    let areas = [
        ("notes", sub_header.notes_range()),
        ("VMCOREINFO", sub_header.vmcoreinfo_range()),
    ];
    for (what, range) in areas {
        if let Some((offset, size)) = range.filter(|&(_, size)| size > 0) {
            let end = offset.saturating_add(size);
            if offset < sub_header_end || end > sub_header_blocks_end {
                return Err(part_error(
                    0,
                    KInvariant::K8,
                    Some(offset),
                    format!(
                        "the {what} [{offset:#x}, {end:#x}) are not inside the sub-header blocks \
                         [{sub_header_end:#x}, {sub_header_blocks_end:#x})"
                    ),
                ));
            }
        }
    }
    for (index, part) in set.parts().iter().enumerate().skip(1) {
        if let Some(field) = differing_sub_header_field(sub_header, part.sub_header()) {
            return Err(part_error(
                index,
                KInvariant::K18,
                Some(page_size),
                format!("its sub-header's {field} differs from part 0's"),
            ));
        }
    }
    compare_bitmaps(set)?;
    // the descriptors follow all bitmap blocks
    let descriptors = first.bitmaps().bitmap1_offset + bitmap_blocks * page_size;
    let pages = first
        .bitmaps()
        .rank_dumped(first.reader(), first.max_pfn())
        .map_err(|error| JoinError::Part { part: 0, error })?;
    let data = descriptors + pages * PAGE_DESC_SIZE;
    Ok(Layout {
        page_size,
        order: header.byte_order,
        descriptors,
        pages,
        data,
        zero_page: sub_header.dump_level & EXCLUDE_ZERO != 0,
    })
}

/// The first field (other than the split fields and eraseinfo) in which `other` differs from `first`.
fn differing_sub_header_field(
    first: &KdumpSubHeader,
    other: Option<&KdumpSubHeader>,
) -> Option<&'static str> {
    let Some(other) = other else {
        return Some("presence");
    };
    let fields = [
        ("layout", first.layout == other.layout),
        ("phys_base", first.phys_base == other.phys_base),
        ("dump_level", first.dump_level == other.dump_level),
        (
            "VMCOREINFO location",
            first.vmcoreinfo_range() == other.vmcoreinfo_range(),
        ),
        ("notes location", first.notes_range() == other.notes_range()),
        ("max_mapnr_64", first.max_mapnr_64() == other.max_mapnr_64()),
    ];
    fields
        .into_iter()
        .find(|&(_, same)| !same)
        .map(|(field, _)| field)
}

/// Calls `visit(file offset, bytes)` for consecutive chunks (at most [`BUFFER`] bytes) of both bitmaps
/// of `part`, bitmap 1 then bitmap 2. A tail of bitmap 2 missing from the file reads as zeros: makedumpfile
/// does not write the block-rounding tail of the bitmaps in cyclic mode, so a `--split` part without pages
/// may end inside it (see [`super::Bitmaps::open`]).
fn scan_bitmaps<R: ReadAt>(
    part: &KdumpFile<R>,
    mut visit: impl FnMut(u64, &[u8]) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let bitmaps = part.bitmaps();
    let mut buf = vec![0u8; BUFFER.min(bitmaps.len as usize)];
    for (which, offset) in [
        (Which::InMemory, bitmaps.bitmap1_offset),
        (Which::Dumped, bitmaps.bitmap2_offset),
    ] {
        let mut at = 0u64;
        while at < bitmaps.len {
            let n = (bitmaps.len - at).min(BUFFER as u64) as usize;
            bitmaps.read(part.reader(), which, at, &mut buf[..n])?;
            visit(offset + at, &buf[..n])?;
            at += n as u64;
        }
    }
    Ok(())
}

/// Checks that every part carries the first part's bitmaps, byte for byte (K18).
fn compare_bitmaps<R: ReadAt>(set: &KdumpSet<R>) -> Result<(), JoinError> {
    let first = set.first();
    for (index, part) in set.parts().iter().enumerate().skip(1) {
        let bitmaps = part.bitmaps();
        for (which, offset) in [
            (Which::InMemory, bitmaps.bitmap1_offset),
            (Which::Dumped, bitmaps.bitmap2_offset),
        ] {
            let difference = first_bitmap_difference(first, part, which).map_err(|e| match e {
                BitmapReadError::Reference(error) => JoinError::Part { part: 0, error },
                BitmapReadError::Other(error) => JoinError::Part { part: index, error },
            })?;
            if let Some(byte) = difference {
                return Err(JoinError::Part {
                    part: index,
                    error: KdumpError::invalid(
                        KInvariant::K18,
                        Some(offset + byte),
                        None,
                        "its bitmaps differ from part 0's",
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The raw bytes of the first part's sub-header.
fn read_sub_header_bytes<R: ReadAt>(
    part: &KdumpFile<R>,
    sub_header: &KdumpSubHeader,
) -> Result<Vec<u8>, KdumpError> {
    let mut bytes = vec![0u8; sub_header.size()];
    read_structure(
        part.reader(),
        sub_header.file_offset,
        &mut bytes,
        KInvariant::K8,
        "kdump_sub_header",
    )?;
    Ok(bytes)
}

/// Copies `len` bytes at `from` of `part` to `to` of the output, in chunks of at most [`BUFFER`].
/// A range beyond the part's end is an error (K12 for the header areas, K17 past the data).
fn copy_area<R: ReadAt, S: DumpSink + ?Sized>(
    part: &KdumpFile<R>,
    from: u64,
    len: u64,
    sink: &mut S,
    to: u64,
) -> Result<(), Failure> {
    let end = from.saturating_add(len);
    if end > part.file_size() {
        return Err(KdumpError::invalid(
            if from >= part.data_offset() {
                KInvariant::K17
            } else {
                KInvariant::K12
            },
            Some(from),
            None,
            format!(
                "[{from:#x}, {end:#x}) is beyond the end of the file ({:#x} bytes)",
                part.file_size()
            ),
        )
        .into());
    }
    let mut buf = vec![0u8; len.min(BUFFER as u64) as usize];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(BUFFER as u64) as usize;
        read_structure(
            part.reader(),
            from + done,
            &mut buf[..n],
            KInvariant::K12,
            "file",
        )?;
        sink.write_at(to + done, &buf[..n])
            .map_err(Failure::Write)?;
        done += n as u64;
    }
    Ok(())
}

/// Why copying from one part stopped: the part, or the output.
enum Failure {
    Input(KdumpError),
    Write(io::Error),
}

impl Failure {
    /// The [`JoinError`], naming part `part` for an input error.
    fn in_part(self, part: usize) -> JoinError {
        match self {
            Failure::Input(error) => JoinError::Part { part, error },
            Failure::Write(e) => JoinError::Write(e),
        }
    }
}

impl From<KdumpError> for Failure {
    fn from(error: KdumpError) -> Self {
        Failure::Input(error)
    }
}

/// Copies the descriptors and data of one part.
fn copy_pages<R: ReadAt, S: DumpSink + ?Sized>(
    part: &KdumpFile<R>,
    layout: &Layout,
    zero_desc: &PageDesc,
    out: &mut PageWriter<'_, S>,
    page: &mut [u8],
    summary: &mut JoinSummary,
    progress: &mut dyn FnMut(u64),
) -> Result<(), Failure> {
    let page_size = layout.page_size;
    let status = part.header().status;
    let data_start = part.data_offset();
    let file_size = part.file_size();
    let zero_page_here = layout.zero_page && holds_zero_page(part, layout)?;
    let mut failure = None;
    let walk = walk_descriptors(part, |entries| {
        for entry in entries {
            let desc = entry.desc;
            let pfn = entry.pfn;
            summary.pages += 1;
            // A reference to the part's shared zero page becomes one to the joined file's.
            let zero_reference = zero_page_here
                && desc.offset == zero_desc.offset
                && desc.flags == 0
                && desc.size as u64 == page_size;
            let written = if zero_reference {
                summary.zero_pages += 1;
                out.push_desc(zero_desc)
            } else {
                validate_descriptor(&desc, page_size, status).map_err(|e| with_pfn(e, pfn))?;
                let offset = desc.offset as u64;
                let end = offset.saturating_add(desc.size as u64);
                if offset < data_start || end > file_size {
                    return Err(KdumpError::invalid(
                        KInvariant::K14,
                        Some(offset),
                        Some(pfn),
                        format!(
                            "page data [{offset:#x}, {end:#x}) is outside [{data_start:#x}, \
                             {file_size:#x}) (end of descriptors to end of file)"
                        ),
                    ));
                }
                let data = &mut page[..desc.size as usize];
                read_structure(part.reader(), offset, data, KInvariant::K14, "page data")
                    .map_err(|e| with_pfn(e, pfn))?;
                let moved = PageDesc {
                    offset: out.data_end() as i64,
                    ..desc
                };
                out.push_desc(&moved).and_then(|()| out.push_data(data))
            };
            if let Err(e) = written {
                failure = Some(e);
                // Stop the walk; `failure` is reported instead of this placeholder.
                return Err(KdumpError::invalid(KInvariant::K18, None, None, "stopped"));
            }
        }
        progress(out.data_end() - layout.data);
        Ok(())
    });
    if let Some(failure) = failure {
        return Err(failure);
    }
    let walk = walk?;
    if let Some((pfn, offset, missing)) = walk.truncated {
        return Err(KdumpError::invalid(
            KInvariant::K12,
            Some(offset),
            Some(pfn),
            format!("the file ends inside its page descriptors ({missing} of them missing)"),
        )
        .into());
    }
    Ok(())
}

/// Whether `part` keeps a page of zeros where every part of a makedumpfile set keeps its shared zero page:
/// right after the descriptors of the whole set.
fn holds_zero_page<R: ReadAt>(part: &KdumpFile<R>, layout: &Layout) -> Result<bool, KdumpError> {
    if layout.data.saturating_add(layout.page_size) > part.file_size() {
        return Ok(false);
    }
    let mut page = vec![0u8; layout.page_size as usize];
    read_structure(
        part.reader(),
        layout.data,
        &mut page,
        KInvariant::K14,
        "shared zero page",
    )?;
    Ok(page.iter().all(|&b| b == 0))
}

/// The descriptors and data of the joined file, gathered in two buffers written when full.
struct PageWriter<'a, S: DumpSink + ?Sized> {
    sink: &'a mut S,
    order: ByteOrder,
    descriptors: Vec<u8>,
    /// Output offset of `descriptors[0]`.
    descriptors_at: u64,
    /// Where the descriptors of the whole set end: more would overwrite the data.
    descriptors_end: u64,
    data: Vec<u8>,
    /// Output offset of `data[0]`.
    data_at: u64,
}

impl<'a, S: DumpSink + ?Sized> PageWriter<'a, S> {
    fn new(sink: &'a mut S, layout: &Layout) -> Self {
        PageWriter {
            sink,
            order: layout.order,
            descriptors: Vec::with_capacity(BUFFER),
            descriptors_at: layout.descriptors,
            descriptors_end: layout.descriptors + layout.pages * PAGE_DESC_SIZE,
            data: Vec::with_capacity(BUFFER),
            data_at: layout.data,
        }
    }

    /// Output offset of the next data byte.
    fn data_end(&self) -> u64 {
        self.data_at + self.data.len() as u64
    }

    fn push_desc(&mut self, desc: &PageDesc) -> Result<(), Failure> {
        let next = self.descriptors_at + self.descriptors.len() as u64;
        if next + PAGE_DESC_SIZE > self.descriptors_end {
            // More descriptors than bitmap 2 has set bits: not possible for parts whose bitmaps agree
            // and whose ranges are contiguous (both checked); an error rather than overwriting the data.
            return Err(Failure::Input(KdumpError::invalid(
                KInvariant::K18,
                None,
                None,
                "the parts hold more descriptors than bitmap 2 has set bits",
            )));
        }
        self.descriptors.extend_from_slice(&desc.encode(self.order));
        if self.descriptors.len() + PAGE_DESC_SIZE as usize > BUFFER {
            self.flush_descriptors().map_err(Failure::Write)?;
        }
        Ok(())
    }

    fn push_data(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        if self.data.len() + bytes.len() > BUFFER {
            self.flush_data().map_err(Failure::Write)?;
        }
        self.data.extend_from_slice(bytes);
        Ok(())
    }

    fn flush_descriptors(&mut self) -> io::Result<()> {
        if !self.descriptors.is_empty() {
            self.sink.write_at(self.descriptors_at, &self.descriptors)?;
            self.descriptors_at += self.descriptors.len() as u64;
            self.descriptors.clear();
        }
        Ok(())
    }

    fn flush_data(&mut self) -> io::Result<()> {
        if !self.data.is_empty() {
            self.sink.write_at(self.data_at, &self.data)?;
            self.data_at += self.data.len() as u64;
            self.data.clear();
        }
        Ok(())
    }

    /// Writes what is left; returns the end of the data.
    fn finish(&mut self) -> io::Result<u64> {
        self.flush_descriptors()?;
        self.flush_data()?;
        Ok(self.data_at)
    }
}
