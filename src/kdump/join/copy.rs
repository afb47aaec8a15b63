//! Copying from the parts: areas (header, notes, bitmaps, eraseinfo) in chunks, and each part's
//! descriptors and page data through one buffered [`PageWriter`].

use std::io;

use super::parts::JoinedLayout;
use super::{JoinError, JoinSummary, BUFFER};
use crate::kdump::descriptor::{PageDesc, PAGE_DESC_SIZE};
use crate::kdump::error::read_structure;
use crate::kdump::header::ByteOrder;
use crate::kdump::subheader::KdumpSubHeader;
use crate::kdump::walk::walk_descriptors;
use crate::kdump::{validate_descriptor, with_pfn, KInvariant, KdumpError, KdumpFile, Which};
use crate::readat::ReadAt;
use crate::sink::DumpSink;

/// Calls `visit(file offset, bytes)` for consecutive chunks (at most [`BUFFER`] bytes) of both bitmaps
/// of `part`, bitmap 1 then bitmap 2. A tail of bitmap 2 missing from the file reads as zeros: makedumpfile
/// does not write the block-rounding tail of the bitmaps in cyclic mode, so a `--split` part without pages
/// may end inside it (see [`Bitmaps::open`](crate::kdump::Bitmaps::open)).
pub(super) fn scan_bitmaps<R: ReadAt>(
    part: &KdumpFile<R>,
    mut visit: impl FnMut(u64, &[u8]) -> Result<(), CopyError>,
) -> Result<(), CopyError> {
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

/// The raw bytes of the first part's sub-header.
pub(super) fn read_sub_header_bytes<R: ReadAt>(
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
pub(super) fn copy_area<R: ReadAt, S: DumpSink + ?Sized>(
    part: &KdumpFile<R>,
    from: u64,
    len: u64,
    sink: &mut S,
    to: u64,
) -> Result<(), CopyError> {
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
            .map_err(CopyError::Write)?;
        done += n as u64;
    }
    Ok(())
}

/// Why copying from one part stopped: the part, or the output.
pub(super) enum CopyError {
    Input(KdumpError),
    Write(io::Error),
}

impl CopyError {
    /// The [`JoinError`], naming part `part` for an input error.
    pub(super) fn in_part(self, part: usize) -> JoinError {
        match self {
            CopyError::Input(error) => JoinError::Part { part, error },
            CopyError::Write(e) => JoinError::Write(e),
        }
    }
}

impl From<KdumpError> for CopyError {
    fn from(error: KdumpError) -> Self {
        CopyError::Input(error)
    }
}

/// Copies the descriptors and data of one part.
pub(super) fn copy_pages<R: ReadAt, S: DumpSink + ?Sized>(
    part: &KdumpFile<R>,
    layout: &JoinedLayout,
    zero_desc: &PageDesc,
    out: &mut PageWriter<'_, S>,
    page: &mut [u8],
    summary: &mut JoinSummary,
    progress: &mut dyn FnMut(u64),
) -> Result<(), CopyError> {
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
fn holds_zero_page<R: ReadAt>(
    part: &KdumpFile<R>,
    layout: &JoinedLayout,
) -> Result<bool, KdumpError> {
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
pub(super) struct PageWriter<'a, S: DumpSink + ?Sized> {
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
    pub(super) fn new(sink: &'a mut S, layout: &JoinedLayout) -> Self {
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

    fn push_desc(&mut self, desc: &PageDesc) -> Result<(), CopyError> {
        let next = self.descriptors_at + self.descriptors.len() as u64;
        if next + PAGE_DESC_SIZE > self.descriptors_end {
            // More descriptors than bitmap 2 has set bits: not possible for parts whose bitmaps agree
            // and whose ranges are contiguous (both checked); an error rather than overwriting the data.
            return Err(CopyError::Input(KdumpError::invalid(
                KInvariant::K18,
                None,
                None,
                "the parts hold more descriptors than bitmap 2 has set bits",
            )));
        }
        self.descriptors.extend_from_slice(&desc.encode(self.order));
        if self.descriptors.len() + PAGE_DESC_SIZE as usize > BUFFER {
            self.flush_descriptors().map_err(CopyError::Write)?;
        }
        Ok(())
    }

    pub(super) fn push_data(&mut self, bytes: &[u8]) -> Result<(), CopyError> {
        if self.data.len() + bytes.len() > BUFFER {
            self.flush_data().map_err(CopyError::Write)?;
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
    pub(super) fn finish(&mut self) -> io::Result<u64> {
        self.flush_descriptors()?;
        self.flush_data()?;
        Ok(self.data_at)
    }
}
