//! Writing a batch's resolved segments (sorted by output offset, disjoint; see `gather`) to the output
//! with as few system calls as possible, keeping holes sparse and never changing a byte that no record
//! writes.
//!
//! Segments are grouped into *spans*, each written with one `pwritev` per [`MAX_WRITE`] bytes (at most
//! [`MAX_IOVECS`] pieces per call, short writes continued):
//! - segments that continue each other join a span;
//! - a gap shorter than a file-system block (so it holds no whole block that would otherwise stay a hole)
//!   joins too, filled with zeros, when no earlier batch wrote that far: those bytes are still unwritten,
//!   hence zero;
//! - a short gap below what earlier batches wrote may hold their bytes: small segments around it form a
//!   *read-back span* (at most [`SCRATCH_SIZE`] bytes), read with one `pread`, patched in memory and written
//!   back with one `pwrite`.
//!
//! Segments smaller than [`COPY_BELOW`] bytes are copied into a scratch buffer so that a run of tiny
//! records costs one iovec, not one each. Spans of at least [`ALLOCATE_FROM`] bytes get their blocks with
//! one `fallocate` first (one extent allocation instead of ext4's per-block delayed-allocation work); small
//! spans never do.

use std::fs::File;
use std::io::{self, IoSlice};
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt};

use super::gather::Segment;

/// Most pieces in one `pwritev` (IOV_MAX on Linux).
pub(super) const MAX_IOVECS: usize = 1024;
/// Most bytes in one `pwritev`. Measured on this project's VM (Linux 6.18, ext4): writing 1 GiB into a
/// fresh file takes 0.7–1.3 s in 128–256 KiB writes, 1.9–3.9 s in 512 KiB writes, 8.6–10.3 s in 1–4 MiB
/// writes (`dd if=/dev/zero bs=…`), the kernel's copy into the page cache being what slows down.
pub(super) const MAX_WRITE: usize = 256 << 10;
/// Segments (and zero gaps) shorter than this are copied into the scratch buffer instead of getting
/// their own iovec.
pub(super) const COPY_BELOW: usize = 512;
/// Size of the scratch buffer: the copies of small segments and the longest read-back span (one
/// `pwrite`).
pub(super) const SCRATCH_SIZE: usize = MAX_WRITE;
/// Spans at least this long are allocated with `fallocate` before they are written.
pub(super) const ALLOCATE_FROM: u64 = 256 << 10;
/// The largest file-system block assumed when deciding which gaps may be filled.
const MAX_BLOCK: u64 = 4096;
/// Source of the zeros that fill gaps (shorter than [`MAX_BLOCK`]).
static ZEROS: [u8; MAX_BLOCK as usize] = [0; MAX_BLOCK as usize];

/// The output operations the writer needs: one call each, so that tests can count them and cut writes
/// short.
pub(super) trait OutputFile {
    /// One `pwritev`: writes a prefix of the concatenation of `slices` at `offset`; returns its length.
    fn write_vectored_at(&self, slices: &[IoSlice<'_>], offset: u64) -> io::Result<usize>;
    /// One `pread`: fills a prefix of `buffer` from `offset`; returns its length (0 at the end of file).
    fn read_at(&self, buffer: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Allocates the blocks of `len` bytes at `offset` without changing the length. A hint only.
    fn allocate(&self, offset: u64, len: u64);
    /// Whether [`OutputFile::read_at`] can work (the file is open for reading).
    fn readable(&self) -> bool;
    /// The file system's block size (bytes).
    fn block_size(&self) -> u64;
}

impl OutputFile for File {
    fn write_vectored_at(&self, slices: &[IoSlice<'_>], offset: u64) -> io::Result<usize> {
        let offset = libc::off_t::try_from(offset).map_err(io::Error::other)?;
        let count = slices.len().min(MAX_IOVECS) as libc::c_int;
        // SAFETY: IoSlice is ABI-compatible with iovec on Unix; the slices outlive the call and pwritev
        // only reads from them.
        let written = unsafe {
            libc::pwritev(
                self.as_raw_fd(),
                slices.as_ptr() as *const libc::iovec,
                count,
                offset,
            )
        };
        if written < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(written as usize)
        }
    }

    fn read_at(&self, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self, buffer, offset)
    }

    fn allocate(&self, offset: u64, len: u64) {
        if let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) {
            // SAFETY: fallocate only reads its integer arguments; where it fails or is not supported, the
            // write that follows allocates the blocks or reports the error itself.
            unsafe { libc::fallocate(self.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, offset, len) };
        }
    }

    fn readable(&self) -> bool {
        // SAFETY: F_GETFL only reads the descriptor's flags.
        let flags = unsafe { libc::fcntl(self.as_raw_fd(), libc::F_GETFL) };
        flags >= 0 && flags & libc::O_ACCMODE == libc::O_RDWR
    }

    fn block_size(&self) -> u64 {
        self.metadata().map(|m| m.blksize()).unwrap_or(MAX_BLOCK)
    }
}

/// A failed write: the first output offset that could not be written (or read back) and why.
#[derive(Debug)]
pub(super) struct WriteFailure {
    /// Output offset of the first byte not written.
    pub offset: u64,
    /// The error of the system call.
    pub error: io::Error,
}

/// Where the bytes of one iovec come from.
#[derive(Debug, Clone)]
enum Part {
    /// A range of the input buffer.
    Input(Range<usize>),
    /// A range of the scratch buffer.
    Scratch(Range<usize>),
    /// Zeros (fewer than [`MAX_BLOCK`]).
    Zeros(usize),
}

/// What a span is made of: payload bytes or the zeros of a gap.
enum Source {
    /// A range of the input buffer.
    Input(Range<usize>),
    /// Zeros (fewer than [`MAX_BLOCK`]).
    Zeros(usize),
}

/// Writes batches of segments; remembers how far earlier batches wrote. Memory: one scratch buffer of
/// [`SCRATCH_SIZE`] bytes and [`MAX_IOVECS`] parts.
pub(super) struct SegmentWriter {
    scratch: Vec<u8>,
    parts: Vec<Part>,
    /// Output offset of the first byte of `parts`.
    parts_offset: u64,
    /// Longest gap filled (one less than the block size).
    max_gap: u64,
    readable: bool,
    /// End of the furthest byte written by earlier batches: nothing at or past it has been written.
    written_end: u64,
}

impl SegmentWriter {
    /// A writer for `file`, which has nothing written yet.
    pub fn new(file: &impl OutputFile) -> Self {
        SegmentWriter {
            scratch: Vec::with_capacity(SCRATCH_SIZE),
            parts: Vec::with_capacity(MAX_IOVECS),
            parts_offset: 0,
            max_gap: file.block_size().clamp(1, MAX_BLOCK) - 1,
            readable: file.readable(),
            written_end: 0,
        }
    }

    /// Writes `segments` (sorted by offset, disjoint), whose bytes are ranges of `buffer`.
    pub fn write(
        &mut self,
        file: &impl OutputFile,
        buffer: &[u8],
        segments: &[Segment],
    ) -> Result<(), WriteFailure> {
        let mut first = 0;
        while first < segments.len() {
            let (end, read_back) = self.plan_span(segments, first);
            let span = &segments[first..end];
            if read_back {
                self.write_read_back_span(file, buffer, span)?;
            } else {
                self.write_span(file, buffer, span)?;
            }
            first = end;
        }
        if let Some(last) = segments.last() {
            self.written_end = self.written_end.max(last.end());
        }
        Ok(())
    }

    /// Where the span starting at `segments[first]` ends (exclusive) and whether it must be read back.
    fn plan_span(&self, segments: &[Segment], first: usize) -> (usize, bool) {
        let start = segments[first].offset;
        let fits_scratch = |s: &Segment| s.end() - start <= SCRATCH_SIZE as u64;
        let mut all_small = segments[first].len < COPY_BELOW;
        let mut read_back = false;
        let mut end = segments[first].end();
        let mut next = first + 1;
        while let Some(segment) = segments.get(next) {
            let gap = segment.offset - end;
            if gap > self.max_gap {
                break;
            }
            let small = all_small && segment.len < COPY_BELOW && fits_scratch(segment);
            if gap > 0 && end < self.written_end {
                // the gap may hold bytes of earlier batches: worth reading back only around small records
                if !small || !self.readable {
                    break;
                }
                read_back = true;
            }
            if read_back && !small {
                break;
            }
            all_small &= segment.len < COPY_BELOW;
            end = segment.end();
            next += 1;
        }
        (next, read_back)
    }

    /// Writes a span whose gaps are all unwritten (zero), with as few `pwritev` as the iovec limit allows.
    fn write_span(
        &mut self,
        file: &impl OutputFile,
        buffer: &[u8],
        span: &[Segment],
    ) -> Result<(), WriteFailure> {
        let start = span[0].offset;
        let len = span[span.len() - 1].end() - start;
        if len >= ALLOCATE_FROM {
            file.allocate(start, len);
        }
        self.parts.clear();
        self.scratch.clear();
        self.parts_offset = start;
        let mut cursor = start;
        for segment in span {
            let gap = (segment.offset - cursor) as usize;
            if gap > 0 {
                self.push(file, buffer, Source::Zeros(gap))?;
            }
            self.push(file, buffer, Source::Input(segment.range()))?;
            cursor = segment.end();
        }
        self.flush(file, buffer)
    }

    /// Adds one part to the pending `pwritev`, copying small ones into the scratch buffer; writes the
    /// pending parts first where the iovecs or the scratch buffer are full.
    fn push(
        &mut self,
        file: &impl OutputFile,
        buffer: &[u8],
        source: Source,
    ) -> Result<(), WriteFailure> {
        let len = match &source {
            Source::Input(range) => range.len(),
            Source::Zeros(len) => *len,
        };
        if len >= COPY_BELOW {
            if self.parts.len() == MAX_IOVECS {
                self.flush(file, buffer)?;
            }
            self.parts.push(match source {
                Source::Input(range) => Part::Input(range),
                Source::Zeros(len) => Part::Zeros(len),
            });
            return Ok(());
        }
        let extends_last =
            matches!(self.parts.last(), Some(Part::Scratch(r)) if r.end == self.scratch.len());
        if self.scratch.len() + len > SCRATCH_SIZE
            || (!extends_last && self.parts.len() == MAX_IOVECS)
        {
            self.flush(file, buffer)?;
        }
        let from = self.scratch.len();
        match source {
            Source::Input(range) => self.scratch.extend_from_slice(&buffer[range]),
            Source::Zeros(len) => self.scratch.extend_from_slice(&ZEROS[..len]),
        }
        let to = self.scratch.len();
        match self.parts.last_mut() {
            Some(Part::Scratch(previous)) if previous.end == from => previous.end = to,
            _ => self.parts.push(Part::Scratch(from..to)),
        }
        Ok(())
    }

    /// Writes the pending parts and empties the scratch buffer.
    fn flush(&mut self, file: &impl OutputFile, buffer: &[u8]) -> Result<(), WriteFailure> {
        let mut slices: Vec<IoSlice<'_>> = self
            .parts
            .iter()
            .map(|part| match part {
                Part::Input(range) => IoSlice::new(&buffer[range.clone()]),
                Part::Scratch(range) => IoSlice::new(&self.scratch[range.clone()]),
                Part::Zeros(len) => IoSlice::new(&ZEROS[..*len]),
            })
            .collect();
        let written = write_all_vectored_at(file, &mut slices, self.parts_offset);
        drop(slices);
        self.parts_offset = written?;
        self.parts.clear();
        self.scratch.clear();
        Ok(())
    }

    /// Writes a span of small segments with gaps that earlier batches may have written: reads the whole
    /// span back, patches the segments in, writes it back (2 system calls whatever the segment count).
    fn write_read_back_span(
        &mut self,
        file: &impl OutputFile,
        buffer: &[u8],
        span: &[Segment],
    ) -> Result<(), WriteFailure> {
        let start = span[0].offset;
        let len = (span[span.len() - 1].end() - start) as usize;
        self.scratch.clear();
        self.scratch.resize(len, 0);
        let mut done = 0;
        while done < len {
            match file.read_at(&mut self.scratch[done..], start + done as u64) {
                Ok(0) => break, // past the end of the file: unwritten, zero
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(WriteFailure {
                        offset: start + done as u64,
                        error: io::Error::new(
                            e.kind(),
                            format!("reading back the output to fill a gap between records: {e}"),
                        ),
                    })
                }
            }
        }
        for segment in span {
            let at = (segment.offset - start) as usize;
            self.scratch[at..at + segment.len].copy_from_slice(&buffer[segment.range()]);
        }
        let mut slices = [IoSlice::new(&self.scratch)];
        write_all_vectored_at(file, &mut slices, start)?;
        self.scratch.clear();
        Ok(())
    }
}

/// Writes the concatenation of `slices` at `offset`, at most [`MAX_IOVECS`] pieces and [`MAX_WRITE`] bytes
/// per call, continuing after short writes and interruptions; returns the offset after the last byte.
fn write_all_vectored_at(
    file: &impl OutputFile,
    mut slices: &mut [IoSlice<'_>],
    mut offset: u64,
) -> Result<u64, WriteFailure> {
    while !slices.is_empty() {
        let mut call: Vec<IoSlice<'_>> = Vec::with_capacity(slices.len().min(MAX_IOVECS));
        let mut len = 0;
        for slice in slices.iter().take(MAX_IOVECS) {
            let n = slice.len().min(MAX_WRITE - len);
            call.push(IoSlice::new(&slice[..n]));
            len += n;
            if len == MAX_WRITE {
                break;
            }
        }
        let result = file.write_vectored_at(&call, offset);
        drop(call);
        match result {
            Ok(0) => {
                return Err(WriteFailure {
                    offset,
                    error: io::Error::new(io::ErrorKind::WriteZero, "pwritev wrote nothing"),
                })
            }
            Ok(written) => {
                offset += written as u64;
                IoSlice::advance_slices(&mut slices, written);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(WriteFailure { offset, error }),
        }
    }
    Ok(offset)
}

#[cfg(all(test, feature = "harness"))] // the tests use proptest
#[path = "segment_write_tests.rs"]
mod tests;
