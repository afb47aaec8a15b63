//! Reading a flattened dump in place: an index of its records instead of a reassembled copy.
//!
//! [`FlatIndex::open`] reads only the 4096-byte file header and the 16-byte record headers (in large
//! windows, seeking over payloads it does not need), then resolves the records into a sorted list of
//! non-overlapping extents of the reassembled file, exactly as a sequential replay of the records would leave
//! it: **the later record wins** where records overlap (partial overlaps included), ranges no record wrote
//! are **holes that read as zeros**, and the reassembled length is the largest `offset + size` (F14, F15).
//!
//! The index implements [`ReadAt`]: a read at reassembled offset `o` becomes a `pread` of the flattened
//! file at the payload position of the record that owns `o`. As for a file, `read_at` at or after the end
//! returns 0 and reads are clipped at the end, so [`ReadAt::read_exact_at`] of a range that goes past the
//! reassembled length fails with `UnexpectedEof`.
//!
//! Cost: building is O(n log n) in the record count n (one sort and one sweep with a heap); the index keeps
//! 16 bytes per extent and a flattened file of n records has at most 2n extents (every extent starts at a
//! record's start or at a record's end), so the index holds at most 32 bytes per record. A lookup is a
//! binary search.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io;

use super::{FlatError, FlatFinding, FlatInvariant, FlatWarning, RecordOrEnd};
use super::{ParseMode, ReadError, RecordHeader, FLAT_HEADER_SIZE, RECORD_HEADER_SIZE};
use crate::readat::ReadAt;

/// Size of the blocks in which record headers are read when payloads are small.
const SCAN_WINDOW: usize = 1 << 20;
/// Size of the block read for a header that follows a payload larger than [`SCAN_WINDOW`].
const SMALL_SCAN_WINDOW: usize = 4096;
/// `Extent::position` of a hole.
const HOLE: u64 = u64::MAX;

/// One piece of the reassembled file: it starts at `start` and runs to the next extent's start (or to the
/// reassembled length for the last one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Extent {
    /// Offset of the first byte in the reassembled file.
    start: u64,
    /// Position of that byte in the flattened file, or [`HOLE`].
    position: u64,
}

/// A record as the sweep needs it: where its bytes go and where they are. Records later in the stream have
/// larger payload positions, so `payload` also orders records by age (larger = later = wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    offset: u64,
    end: u64,
    payload: u64,
}

/// A record on the sweep's heap: the latest active record is on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ByAge(Span);

impl Ord for ByAge {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.payload.cmp(&other.0.payload)
    }
}

impl PartialOrd for ByAge {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Statistics of an index, for reports and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IndexStats {
    /// Number of data records in the flattened file.
    pub records: u64,
    /// Number of extents (data and holes) the records resolve into.
    pub extents: u64,
    /// Bytes of memory the index holds (its extent list's allocation).
    pub memory_bytes: u64,
    /// Whether any two records overlap (then the later one wins where they do, F14).
    pub overlapping: bool,
}

/// A flattened dump read in place: [`ReadAt`] over the reassembled bytes, reading the flattened `source`.
#[derive(Debug)]
pub struct FlatIndex<R> {
    source: R,
    extents: Vec<Extent>,
    length: u64,
    records: u64,
    overlapping: bool,
    warnings: Vec<FlatWarning>,
}

impl<R: ReadAt> FlatIndex<R> {
    /// Indexes the flattened file `source`, checking it strictly (every F invariant except the warnings F3,
    /// F6 and F17 is an error).
    pub fn open(source: R) -> Result<Self, ReadError> {
        Self::open_with_mode(source, ParseMode::Strict)
    }

    /// Indexes the flattened file `source` in the given mode. [`ParseMode::Lenient`] accepts what
    /// `makedumpfile -R` accepts (version ≠ 1, a zero-size first record, bytes after the end marker, no
    /// records, offset 0 never written) and reports it in [`warnings`](Self::warnings).
    pub fn open_with_mode(source: R, mode: ParseMode) -> Result<Self, ReadError> {
        let scan = scan_records(&source, mode)?;
        let records = scan.spans.len() as u64;
        let resolved = resolve(scan.spans);
        let mut warnings = scan.warnings;
        if records > 0 && resolved.extents.first().map(|e| e.position) == Some(HOLE) {
            let finding = FlatFinding::at(
                FlatInvariant::F16,
                FLAT_HEADER_SIZE as u64,
                "no record writes offset 0 of the reassembled file",
            );
            strict_error_or_warning(mode, finding, &mut warnings)?;
        }
        Ok(FlatIndex {
            source,
            extents: resolved.extents,
            length: resolved.length,
            records,
            overlapping: resolved.overlapping,
            warnings,
        })
    }

    /// The reassembled length: the largest `offset + size` over the records (F15), 0 without records.
    pub fn len(&self) -> u64 {
        self.length
    }

    /// Whether the reassembled file is empty (a flattened file without records, lenient mode only).
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Tolerated deviations found while indexing (F3, F6, F17; more in lenient mode).
    pub fn warnings(&self) -> &[FlatWarning] {
        &self.warnings
    }

    /// Record and extent counts and the memory the index holds.
    pub fn stats(&self) -> IndexStats {
        IndexStats {
            records: self.records,
            extents: self.extents.len() as u64,
            memory_bytes: (self.extents.capacity() * std::mem::size_of::<Extent>()) as u64,
            overlapping: self.overlapping,
        }
    }

    /// The flattened file the index reads from.
    pub fn source(&self) -> &R {
        &self.source
    }

    /// The extents as `(start, length, Some(flattened position) | None for a hole)`, in ascending order.
    pub fn extents(&self) -> impl Iterator<Item = (u64, u64, Option<u64>)> + '_ {
        self.extents.iter().enumerate().map(|(i, extent)| {
            let end = self.extent_end(i);
            let position = (extent.position != HOLE).then_some(extent.position);
            (extent.start, end - extent.start, position)
        })
    }

    fn extent_end(&self, i: usize) -> u64 {
        self.extents
            .get(i + 1)
            .map_or(self.length, |next| next.start)
    }
}

impl<R: ReadAt> ReadAt for FlatIndex<R> {
    /// Reads reassembled bytes at `offset`: clipped at the reassembled length, 0 at or after it; holes read
    /// as zeros. Fails with `UnexpectedEof` if the flattened file has become shorter since it was indexed.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.length || buf.is_empty() {
            return Ok(0);
        }
        let wanted = (buf.len() as u64).min(self.length - offset) as usize;
        // Extent 0 starts at 0, so the partition point is at least 1.
        let mut i = self.extents.partition_point(|e| e.start <= offset) - 1;
        let mut done = 0usize;
        while done < wanted {
            let at = offset + done as u64;
            let extent = self.extents[i];
            let end = self.extent_end(i);
            let n = ((end - at) as usize).min(wanted - done);
            let piece = &mut buf[done..done + n];
            if extent.position == HOLE {
                piece.fill(0);
            } else {
                let position = extent.position + (at - extent.start);
                self.source
                    .read_exact_at(position, piece)
                    .map_err(|e| changed_source_error(e, position, n))?;
            }
            done += n;
            i += 1;
        }
        Ok(wanted)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.length)
    }
}

fn changed_source_error(error: io::Error, position: u64, len: usize) -> io::Error {
    if error.kind() == io::ErrorKind::UnexpectedEof {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "the flattened file is shorter than when it was indexed: {len} payload bytes at \
                 position {position:#x} are missing"
            ),
        )
    } else {
        error
    }
}

/// What the header scan found.
struct Scan {
    spans: Vec<Span>,
    warnings: Vec<FlatWarning>,
}

/// Reads the file header and every record header of `source`, seeking over payloads.
fn scan_records<R: ReadAt + ?Sized>(source: &R, mode: ParseMode) -> Result<Scan, ReadError> {
    use FlatInvariant::*;
    let file_length = source.size()?;
    let header_len = (file_length.min(FLAT_HEADER_SIZE as u64)) as usize;
    let mut header = vec![0u8; header_len];
    source.read_exact_at(0, &mut header)?;
    let mut warnings = super::parse_file_header(&header, mode)?;
    let minimum = (FLAT_HEADER_SIZE + RECORD_HEADER_SIZE) as u64;
    if file_length < minimum {
        return Err(format_error(FlatFinding::at(
            F1,
            0,
            format!("the file is {file_length} bytes long, shorter than the {minimum} bytes of a header and an end marker"),
        )));
    }

    let mut window = HeaderWindow::new();
    let mut spans = Vec::new();
    let mut position = FLAT_HEADER_SIZE as u64;
    let mut index = 0u64;
    let mut last_size = 0u64;
    loop {
        let remaining = file_length - position;
        if remaining < RECORD_HEADER_SIZE as u64 {
            return Err(format_error(FlatFinding::in_record(
                F7,
                index,
                position,
                format!(
                    "the file ends {remaining} bytes into this record header (16 bytes) and has no end marker"
                ),
            )));
        }
        let bytes = window.header_at(source, position, file_length, last_size)?;
        let record = match super::decode_record_header(&bytes, index, position) {
            Ok(RecordOrEnd::End) => break,
            Ok(RecordOrEnd::Record(record)) => record,
            Err(error) if is_tolerated_empty_first_record(&bytes, index, mode) => {
                warnings.push(FlatWarning(error.0));
                position += RECORD_HEADER_SIZE as u64;
                index += 1;
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        let payload_end = record.payload_position().checked_add(record.size);
        if payload_end.is_none_or(|end| end > file_length) {
            return Err(format_error(FlatFinding::in_record(
                F7,
                index,
                position,
                format!(
                    "the payload of {} bytes is truncated: only {} bytes follow the record header",
                    record.size,
                    remaining - RECORD_HEADER_SIZE as u64
                ),
            )));
        }
        if let Some(warning) = super::oversize_warning(&record) {
            warnings.push(warning);
        }
        spans.push(span_of(&record));
        last_size = record.size;
        position = record.payload_position() + record.size;
        index += 1;
    }
    let end_marker_end = position + RECORD_HEADER_SIZE as u64;
    if end_marker_end != file_length {
        let finding = FlatFinding::at(
            F12,
            end_marker_end,
            format!(
                "{} bytes follow the end marker",
                file_length - end_marker_end
            ),
        );
        strict_error_or_warning(mode, finding, &mut warnings)?;
    }
    if spans.is_empty() {
        let finding = FlatFinding::at(
            F13,
            FLAT_HEADER_SIZE as u64,
            "the stream has no data record",
        );
        strict_error_or_warning(mode, finding, &mut warnings)?;
    }
    Ok(Scan { spans, warnings })
}

/// In lenient mode `makedumpfile -R` accepts a first record of size 0 (and skips it).
fn is_tolerated_empty_first_record(bytes: &[u8; 16], index: u64, mode: ParseMode) -> bool {
    let offset = i64::from_be_bytes(bytes[..8].try_into().unwrap_or([0xff; 8]));
    let size = i64::from_be_bytes(bytes[8..].try_into().unwrap_or([0xff; 8]));
    mode == ParseMode::Lenient && index == 0 && offset >= 0 && size == 0
}

fn span_of(record: &RecordHeader) -> Span {
    Span {
        offset: record.offset,
        end: record.end(),
        payload: record.payload_position(),
    }
}

fn format_error(finding: FlatFinding) -> ReadError {
    ReadError::Format(FlatError(finding))
}

fn strict_error_or_warning(
    mode: ParseMode,
    finding: FlatFinding,
    warnings: &mut Vec<FlatWarning>,
) -> Result<(), FlatError> {
    match mode {
        ParseMode::Strict => Err(FlatError(finding)),
        ParseMode::Lenient => {
            warnings.push(FlatWarning(finding));
            Ok(())
        }
    }
}

/// A block of the flattened file held in memory, so that runs of small records cost one read per block
/// rather than one per record header.
struct HeaderWindow {
    bytes: Vec<u8>,
    start: u64,
    len: usize,
}

impl HeaderWindow {
    fn new() -> Self {
        HeaderWindow {
            bytes: Vec::new(),
            start: 0,
            len: 0,
        }
    }

    /// The 16 bytes at `position` (which the caller checked lie inside the file). After a payload larger
    /// than a window the next header is likely far from the one after it too, so a small block is read.
    fn header_at<R: ReadAt + ?Sized>(
        &mut self,
        source: &R,
        position: u64,
        file_length: u64,
        last_size: u64,
    ) -> io::Result<[u8; RECORD_HEADER_SIZE]> {
        let inside = position >= self.start
            && position + RECORD_HEADER_SIZE as u64 <= self.start + self.len as u64;
        if !inside {
            let block = if last_size >= SCAN_WINDOW as u64 {
                SMALL_SCAN_WINDOW
            } else {
                SCAN_WINDOW
            };
            let len = (file_length - position).min(block as u64) as usize;
            if self.bytes.len() < len {
                self.bytes.resize(len, 0);
            }
            source.read_exact_at(position, &mut self.bytes[..len])?;
            self.start = position;
            self.len = len;
        }
        let at = (position - self.start) as usize;
        let mut header = [0u8; RECORD_HEADER_SIZE];
        header.copy_from_slice(&self.bytes[at..at + RECORD_HEADER_SIZE]);
        Ok(header)
    }
}

/// The records resolved into extents.
struct Resolved {
    extents: Vec<Extent>,
    length: u64,
    overlapping: bool,
}

/// Resolves records (in stream order) into the extents a sequential replay leaves: sort by offset, then
/// sweep the breakpoints (record starts and ends) keeping the active records on a max-heap by age; at every
/// breakpoint the latest active record owns the bytes up to the next breakpoint.
fn resolve(mut spans: Vec<Span>) -> Resolved {
    spans.sort_unstable_by_key(|span| span.offset);
    let length = spans.iter().map(|span| span.end).max().unwrap_or(0);
    let mut overlapping = false;
    let mut reach = 0u64;
    for span in &spans {
        overlapping |= span.offset < reach;
        reach = reach.max(span.end);
    }

    let mut extents: Vec<Extent> = Vec::with_capacity(spans.len() + 1);
    let mut push = |start: u64, position: u64| {
        if let Some(last) = extents.last() {
            let continues = if position == HOLE {
                last.position == HOLE
            } else {
                last.position != HOLE && last.position + (start - last.start) == position
            };
            if continues {
                return;
            }
        }
        extents.push(Extent { start, position });
    };
    let mut active: BinaryHeap<ByAge> = BinaryHeap::new();
    let mut next = 0usize;
    let mut point = 0u64;
    while point < length {
        while let Some(span) = spans.get(next).filter(|span| span.offset <= point) {
            active.push(ByAge(*span));
            next += 1;
        }
        while active.peek().is_some_and(|top| top.0.end <= point) {
            active.pop();
        }
        let next_start = spans.get(next).map_or(u64::MAX, |span| span.offset);
        match active.peek() {
            Some(ByAge(owner)) => {
                push(point, owner.payload + (point - owner.offset));
                point = owner.end.min(next_start);
            }
            None => {
                push(point, HOLE);
                point = next_start;
            }
        }
    }
    drop(spans);
    extents.shrink_to_fit();
    Resolved {
        extents,
        length,
        overlapping,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(offset: u64, size: u64, payload: u64) -> Span {
        Span {
            offset,
            end: offset + size,
            payload,
        }
    }

    #[test]
    fn later_record_wins_partial_overlaps_and_holes_are_explicit() {
        // record 0 writes [10, 30), record 1 writes [20, 25) on top of it, record 2 writes [40, 50).
        let resolved = resolve(vec![
            span(10, 20, 1000),
            span(20, 5, 2000),
            span(40, 10, 3000),
        ]);
        assert_eq!(resolved.length, 50);
        assert!(resolved.overlapping);
        let expected = [
            (0, HOLE),
            (10, 1000),
            (20, 2000),
            (25, 1015),
            (30, HOLE),
            (40, 3000),
        ];
        let got: Vec<_> = resolved
            .extents
            .iter()
            .map(|e| (e.start, e.position))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn an_earlier_record_under_a_later_one_stays_hidden() {
        // record 0 writes [0, 10); record 1 rewrites [0, 10) entirely: one extent, record 1's.
        let resolved = resolve(vec![span(0, 10, 100), span(0, 10, 200)]);
        let got: Vec<_> = resolved
            .extents
            .iter()
            .map(|e| (e.start, e.position))
            .collect();
        assert_eq!(got, [(0, 200)]);
    }
}
