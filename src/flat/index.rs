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
//! Cost: building is O(n log n) in the record count n (one sort and one sweep with a heap). The index keeps
//! 16 bytes per extent and a flattened file of n records has at most 2n extents (every extent starts at a
//! record's start or at a record's end), so the index holds at most 32 bytes per record (16 for QEMU's
//! dumps, which have no overlaps and few holes). While it is built it holds 24 bytes per record (offset
//! and record number, payload position; sizes are derived), the extents being written over the sorted
//! table behind the sweep; joining the scan's chunks into one table briefly adds 16 bytes per record, and
//! the scan reads through one 1 MiB buffer. A lookup is a binary search.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io;

use super::error::strict_error_or_warning;
use super::{FlatError, FlatFinding, FlatInvariant, FlatWarning, RecordOrEnd};
use super::{ParseMode, ReadError, FLAT_HEADER_SIZE, RECORD_HEADER_SIZE};
use crate::readat::ReadAt;

/// Size of the blocks in which record headers are read when payloads are small.
const SCAN_WINDOW: usize = 1 << 20;
/// Size of the block read for a header that follows a payload larger than [`SCAN_WINDOW`].
const SMALL_SCAN_WINDOW: usize = 4096;
/// The `value` of an extent entry that is a hole.
const HOLE: u64 = u64::MAX;

/// An entry of the index's table. While the index is built it names a record, `(offset, record number)`,
/// sorted by offset; the sweep then overwrites the same table in place with extents, `(start, position)`:
/// an extent starts at reassembled offset `offset` and runs to the next extent's start (or to the
/// reassembled length for the last one); `value` is the flattened-file position of its first byte, or
/// [`HOLE`]. Reusing one table keeps the memory of the build at 24 bytes per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    offset: u64,
    value: u64,
}

/// A record on the sweep's heap. Later records have larger payload positions, so the latest record (the
/// one a replay leaves visible) is on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Active {
    payload: u64,
    offset: u64,
    end: u64,
}

impl Ord for Active {
    fn cmp(&self, other: &Self) -> Ordering {
        self.payload.cmp(&other.payload)
    }
}

impl PartialOrd for Active {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The records of a flattened file as the header scan found them, in 24 bytes per record: their offsets
/// (`entries`: offset, record number; sorted by offset before the sweep) and their payload positions in
/// stream order (`payloads`, kept in chunks, with one more entry: the position of the end marker plus 16,
/// so that record `i` has `payloads[i + 1] - 16 - payloads[i]` bytes; sizes are not stored).
struct RecordTable {
    entries: Vec<Entry>,
    payloads: ChunkedVec<u64>,
}

impl RecordTable {
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn size(&self, record: u64) -> u64 {
        self.payload(record + 1) - RECORD_HEADER_SIZE as u64 - self.payload(record)
    }

    fn payload(&self, record: u64) -> u64 {
        self.payloads.get(record as usize)
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
    extents: Vec<Entry>,
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
        let records = scan.table.len() as u64;
        let resolved = resolve(scan.table);
        let mut warnings = scan.warnings;
        if records > 0 && resolved.extents.first().map(|e| e.value) == Some(HOLE) {
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
            memory_bytes: (self.extents.capacity() * std::mem::size_of::<Entry>()) as u64,
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
            let position = (extent.value != HOLE).then_some(extent.value);
            (extent.offset, end - extent.offset, position)
        })
    }

    fn extent_end(&self, i: usize) -> u64 {
        self.extents
            .get(i + 1)
            .map_or(self.length, |next| next.offset)
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
        let mut i = self.extents.partition_point(|e| e.offset <= offset) - 1;
        let mut done = 0usize;
        while done < wanted {
            let at = offset + done as u64;
            let extent = self.extents[i];
            let end = self.extent_end(i);
            let n = ((end - at) as usize).min(wanted - done);
            let piece = &mut buf[done..done + n];
            if extent.value == HOLE {
                piece.fill(0);
            } else {
                let position = extent.value + (at - extent.offset);
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
    table: RecordTable,
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
    let mut entries = ChunkedVec::new();
    let mut payloads = ChunkedVec::new();
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
            let present = remaining - RECORD_HEADER_SIZE as u64;
            return Err(format_error(FlatFinding::in_record(
                F7,
                index,
                position,
                format!(
                    "payload truncated: {present} of {} bytes present, {} missing",
                    record.size,
                    record.size - present
                ),
            )));
        }
        if let Some(warning) = super::oversize_warning(&record) {
            warnings.push(warning);
        }
        entries.push(Entry {
            offset: record.offset,
            value: payloads.len() as u64,
        });
        payloads.push(record.payload_position());
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
    payloads.push(position + RECORD_HEADER_SIZE as u64);
    if entries.is_empty() {
        let finding = FlatFinding::at(
            F13,
            FLAT_HEADER_SIZE as u64,
            "the stream has no data record",
        );
        strict_error_or_warning(mode, finding, &mut warnings)?;
    }
    // Room for the extents the sweep writes into the same table: one per record plus a few holes.
    let extra = entries.len() / 64 + 64;
    let table = RecordTable {
        entries: entries.into_vec(extra),
        payloads,
    };
    Ok(Scan { table, warnings })
}

/// In lenient mode `makedumpfile -R` accepts a first record of size 0 (and skips it).
fn is_tolerated_empty_first_record(bytes: &[u8; 16], index: u64, mode: ParseMode) -> bool {
    let offset = i64::from_be_bytes(bytes[..8].try_into().unwrap_or([0xff; 8]));
    let size = i64::from_be_bytes(bytes[8..].try_into().unwrap_or([0xff; 8]));
    mode == ParseMode::Lenient && index == 0 && offset >= 0 && size == 0
}

fn format_error(finding: FlatFinding) -> ReadError {
    ReadError::Format(FlatError(finding))
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

/// A growing list stored in fixed-size chunks, so that collecting an unknown number of items never holds
/// two copies of the list (as doubling a `Vec` does while it moves).
struct ChunkedVec<T> {
    full: Vec<Vec<T>>,
    current: Vec<T>,
}

/// Items per chunk of a [`ChunkedVec`].
const CHUNK_ITEMS: usize = 1 << 14;

impl<T> ChunkedVec<T> {
    fn new() -> Self {
        ChunkedVec {
            full: Vec::new(),
            current: Vec::new(),
        }
    }

    fn push(&mut self, item: T) {
        if self.current.len() == CHUNK_ITEMS {
            let full = std::mem::replace(&mut self.current, Vec::with_capacity(CHUNK_ITEMS));
            self.full.push(full);
        } else if self.current.capacity() == 0 {
            self.current.reserve_exact(CHUNK_ITEMS);
        }
        self.current.push(item);
    }

    fn len(&self) -> usize {
        self.full.len() * CHUNK_ITEMS + self.current.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `i` (which must exist).
    fn get(&self, i: usize) -> T
    where
        T: Copy,
    {
        let chunk = i / CHUNK_ITEMS;
        match self.full.get(chunk) {
            Some(full) => full[i % CHUNK_ITEMS],
            None => self.current[i % CHUNK_ITEMS],
        }
    }

    /// One contiguous `Vec` with room for `extra` more items: the first chunk grown in place (a large
    /// block is moved by the allocator without copying, `mremap` with glibc), then each further chunk
    /// appended and freed at once, so the items are resident only about once.
    fn into_vec(self, extra: usize) -> Vec<T> {
        let total = self.len() + extra;
        let mut chunks = self.full.into_iter().chain(std::iter::once(self.current));
        let mut all = chunks.next().unwrap_or_default();
        all.reserve_exact(total - all.len());
        for chunk in chunks {
            all.extend(chunk);
        }
        all
    }
}

/// The records resolved into extents.
struct Resolved {
    extents: Vec<Entry>,
    length: u64,
    overlapping: bool,
}

/// Resolves the records into the extents a sequential replay leaves: sort by offset, then sweep the
/// breakpoints (record starts and ends) keeping the records that cover the current point on a max-heap by
/// record number; at every breakpoint the latest of them owns the bytes up to the next breakpoint.
///
/// The extents are written into the sorted table itself, behind the sweep: entry `w` is overwritten only
/// once the sweep has read (consumed) more than `w` records; extents that are ready before there is room
/// wait in a queue (only holes and split records can outrun the records consumed).
fn resolve(table: RecordTable) -> Resolved {
    let RecordTable {
        mut entries,
        payloads,
    } = table;
    let table = RecordTable {
        entries: Vec::new(),
        payloads,
    };
    sort_by_offset(&mut entries);
    let mut length = 0u64;
    let mut overlapping = false;
    let mut out = ExtentWriter::default();
    let mut active: BinaryHeap<Active> = BinaryHeap::new();
    let mut consumed = 0usize;
    let mut point = 0u64;
    loop {
        while active.peek().is_some_and(|top| top.end <= point) {
            active.pop();
        }
        while let Some(entry) = entries.get(consumed).filter(|e| e.offset <= point).copied() {
            let payload = table.payload(entry.value);
            let end = entry.offset + table.size(entry.value);
            overlapping |= entry.offset < length;
            length = length.max(end);
            active.push(Active {
                payload,
                offset: entry.offset,
                end,
            });
            consumed += 1;
        }
        out.flush_into(&mut entries, consumed);
        while active.peek().is_some_and(|top| top.end <= point) {
            active.pop();
        }
        let next_start = entries.get(consumed).map(|entry| entry.offset);
        let extent = match (active.peek(), next_start) {
            (Some(owner), _) => {
                let extent = Entry {
                    offset: point,
                    value: owner.payload + (point - owner.offset),
                };
                point = next_start.map_or(owner.end, |next| owner.end.min(next));
                extent
            }
            (None, Some(next)) => {
                let extent = Entry {
                    offset: point,
                    value: HOLE,
                };
                point = next;
                extent
            }
            (None, None) => break,
        };
        out.push(extent, &mut entries, consumed);
    }
    drop(table);
    let extents = out.finish(entries);
    Resolved {
        extents,
        length,
        overlapping,
    }
}

/// Most out-of-order records set aside by [`sort_by_offset`], as a fraction (1/8) of all records.
const SET_ASIDE_LIMIT_DIVISOR: usize = 8;

/// Sorts the records by offset. Flattened streams are mostly ascending (QEMU: page data ascending, the
/// descriptor flushes and every other bitmap chunk below it), so the records that break the ascending run
/// are set aside, sorted alone and merged back from the end: O(n) plus the sort of the few set aside.
/// If more than 1/8 of the records break the run, the whole table is sorted instead (O(n log n)).
fn sort_by_offset(entries: &mut [Entry]) {
    let limit = entries.len() / SET_ASIDE_LIMIT_DIVISOR;
    let mut aside: Vec<Entry> = Vec::new();
    let mut kept = 0usize;
    let mut last = 0u64;
    for i in 0..entries.len() {
        let entry = entries[i];
        if entry.offset >= last {
            entries[kept] = entry;
            kept += 1;
            last = entry.offset;
        } else if aside.len() < limit {
            aside.push(entry);
        } else {
            // Too disordered: put the set-aside records back at the end and sort everything.
            // [0, kept) kept, `aside` (i - kept records), [i, len) not yet looked at.
            let len = entries.len();
            entries.copy_within(i..len, kept);
            entries[kept + (len - i)..].copy_from_slice(&aside);
            entries.sort_unstable_by_key(|entry| entry.offset);
            return;
        }
    }
    aside.sort_unstable_by_key(|entry| entry.offset);
    // Merge the ascending prefix [0, kept) with `aside` from the end of the table.
    let mut write = entries.len();
    let mut left = kept;
    while let Some(&aside_last) = aside.last() {
        write -= 1;
        if left > 0 && entries[left - 1].offset > aside_last.offset {
            entries[write] = entries[left - 1];
            left -= 1;
        } else {
            entries[write] = aside_last;
            aside.pop();
        }
    }
}

/// Writes extents into the front of the sorted record table, behind the sweep.
#[derive(Default)]
struct ExtentWriter {
    written: usize,
    last: Option<Entry>,
    waiting: std::collections::VecDeque<Entry>,
}

impl ExtentWriter {
    /// Adds `extent` unless it continues the previous one (same record, or hole after hole).
    fn push(&mut self, extent: Entry, entries: &mut [Entry], consumed: usize) {
        if let Some(last) = self.last {
            let continues = if extent.value == HOLE {
                last.value == HOLE
            } else {
                last.value != HOLE && last.value + (extent.offset - last.offset) == extent.value
            };
            if continues {
                return;
            }
        }
        self.last = Some(extent);
        self.waiting.push_back(extent);
        self.flush_into(entries, consumed);
    }

    /// Moves waiting extents into the entries the sweep has consumed.
    fn flush_into(&mut self, entries: &mut [Entry], consumed: usize) {
        while self.written < consumed {
            let Some(extent) = self.waiting.pop_front() else {
                break;
            };
            entries[self.written] = extent;
            self.written += 1;
        }
    }

    /// The extents: the table cut to the written ones, then whatever still waits.
    fn finish(mut self, mut entries: Vec<Entry>) -> Vec<Entry> {
        let records = entries.len();
        self.flush_into(&mut entries, records);
        entries.truncate(self.written);
        entries.extend(self.waiting);
        // Keep at most 32 bytes (two entries) per record, and little slack.
        let slack = entries.capacity() - entries.len();
        if slack > entries.len() / 32 || entries.capacity() > 2 * records {
            entries.shrink_to_fit();
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of records given as (offset, size) in stream order, payloads packed from position 1000.
    fn table(records: &[(u64, u64)]) -> RecordTable {
        let mut position = 1000;
        let mut payloads = ChunkedVec::new();
        let mut entries = Vec::new();
        for (i, &(offset, size)) in records.iter().enumerate() {
            entries.push(Entry {
                offset,
                value: i as u64,
            });
            payloads.push(position + 16);
            position += 16 + size;
        }
        payloads.push(position + 16);
        RecordTable { entries, payloads }
    }

    fn extents(resolved: &Resolved) -> Vec<(u64, u64)> {
        resolved
            .extents
            .iter()
            .map(|e| (e.offset, e.value))
            .collect()
    }

    #[test]
    fn later_record_wins_partial_overlaps_and_holes_are_explicit() {
        // record 0 writes [10, 30) from 1016, record 1 writes [20, 25) on top of it from 1052, record 2
        // writes [40, 50) from 1073.
        let resolved = resolve(table(&[(10, 20), (20, 5), (40, 10)]));
        assert_eq!(resolved.length, 50);
        assert!(resolved.overlapping);
        let expected = [
            (0, HOLE),
            (10, 1016),
            (20, 1052),
            (25, 1031),
            (30, HOLE),
            (40, 1073),
        ];
        assert_eq!(extents(&resolved), expected);
    }

    #[test]
    fn an_earlier_record_under_a_later_one_stays_hidden() {
        let resolved = resolve(table(&[(0, 10), (0, 10)]));
        assert_eq!(extents(&resolved), [(0, 1042)]);
        assert!(resolved.overlapping);
    }

    #[test]
    fn sort_by_offset_merges_the_records_set_aside_or_sorts_everything() {
        let offsets = |entries: &[Entry]| entries.iter().map(|e| e.offset).collect::<Vec<_>>();
        let make = |offsets: &[u64]| -> Vec<Entry> {
            offsets
                .iter()
                .enumerate()
                .map(|(i, &offset)| Entry {
                    offset,
                    value: i as u64,
                })
                .collect()
        };
        // Mostly ascending with a few records below the run (QEMU's descriptor flushes).
        let mut qemu_like: Vec<u64> = Vec::new();
        for page in 0..1000u64 {
            qemu_like.push(1_000_000 + page * 10);
            if page % 100 == 99 {
                qemu_like.push(500 + page);
            }
        }
        // Mostly descending: beyond the set-aside limit.
        let descending: Vec<u64> = (0..1000u64).rev().collect();
        for input in [qemu_like, descending, vec![5, 5, 3, 5, 1, 9, 0]] {
            let mut entries = make(&input);
            sort_by_offset(&mut entries);
            let mut expected = input.clone();
            expected.sort_unstable();
            assert_eq!(offsets(&entries), expected);
            let mut values: Vec<u64> = entries.iter().map(|e| e.value).collect();
            values.sort_unstable();
            assert_eq!(values, (0..input.len() as u64).collect::<Vec<_>>());
        }
    }

    #[test]
    fn many_holes_outrun_the_table_and_still_come_out_sorted() {
        // Every record leaves a hole before it: twice as many extents as records.
        let records: Vec<(u64, u64)> = (0..100).map(|i| (10 * i + 5, 3)).collect();
        let resolved = resolve(table(&records));
        let got = extents(&resolved);
        assert_eq!(got.len(), 200);
        assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(!resolved.overlapping);
    }
}
