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
//! the scan reads through one 1 MiB buffer. Extents that outrun the records consumed (a hole after a
//! record, a record split by a later one) wait in a queue, 16 bytes each, and are appended to the table at
//! the end, which grows it: so the 32-byte bound holds for the index built, not for the build's peak, which
//! reaches about 50 bytes per record when nearly every record is followed by a hole (measured: 1M records
//! at random offsets, 53 MiB peak RSS; about 25 bytes per record on 5M contiguous one-byte records, either
//! order). A lookup is a binary search.
//!
//! `scan.rs` reads the headers into a `RecordTable` (`table.rs`), `resolve.rs`
//! sorts and sweeps it into extents; this file holds the index and its reads.

mod resolve;
mod scan;
mod table;
#[cfg(test)]
mod tests;

use std::io;

use self::resolve::resolve;
use self::scan::scan_records;
use self::table::{Entry, HOLE};
use super::error::strict_error_or_warning;
use super::{FlatFinding, FlatInvariant, FlatWarning};
use super::{ParseMode, ReadError, FLAT_HEADER_SIZE};
use crate::readat::ReadAt;

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

/// The error of a payload read that failed: `UnexpectedEof` says the file shrank since it was indexed.
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
