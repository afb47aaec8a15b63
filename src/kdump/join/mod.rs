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
//!
//! This file writes the joined file in the order above; `parts.rs` checks that the parts belong together
//! and lays the joined file out; `copy.rs` copies areas and pages from the parts.

mod copy;
mod parts;

use std::io;

use serde::Serialize;

use self::copy::{
    copy_area, copy_pages, read_sub_header_bytes, scan_bitmaps, CopyError, PageWriter,
};
use self::parts::check_parts;
use super::descriptor::PageDesc;
use super::error::{KInvariant, KdumpError};
use super::subheader::KdumpSubHeader;
use super::KdumpSet;
use crate::readat::ReadAt;
use crate::sink::DumpSink;

/// Bytes of descriptors, and of page data, gathered before each write; also the chunk size of copies.
pub const BUFFER: usize = 1 << 20;

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

/// Joins the parts of `set` into one kdump-compressed file written through `sink` (a
/// [`RawSink`](crate::sink::RawSink) over a file gives `makedumpfile --reassemble`'s bytes).
///
/// Fails if the set is not a complete split set whose parts agree (K18: split flags, sub-headers, bitmaps;
/// [`KdumpSet::new`] checked the headers and pfn ranges), or if a part breaks an invariant on the way
/// (K8 notes outside the sub-header blocks, K9 odd `bitmap_blocks` or bitmaps too short for max_mapnr,
/// K12 a part ending inside its descriptors, K13/K14 a bad descriptor or data outside the part, K17
/// eraseinfo outside the part). On failure part of the output may have been written: write into a
/// temporary file (see [`crate::output::AtomicOutput`]). The sink is not finished: the caller calls
/// [`DumpSink::finish`] after a successful join.
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
        sink.write_at(offset, bytes).map_err(CopyError::Write)
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
pub(super) fn first_sub_header<R: ReadAt>(set: &KdumpSet<R>) -> Result<&KdumpSubHeader, JoinError> {
    set.first().sub_header().ok_or_else(|| JoinError::Part {
        part: 0,
        error: not_split(),
    })
}

/// The error for a file that is not a `--split` part.
pub(super) fn not_split() -> KdumpError {
    KdumpError::invalid(
        KInvariant::K18,
        None,
        None,
        "its split flag is not set: it is not a part of a makedumpfile --split set",
    )
}
