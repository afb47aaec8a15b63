//! Gathering the payloads of one input buffer for reassembly: the pieces arrive in stream order, at any
//! output offsets; [`Batch::resolve`] orders them by output offset and resolves overlaps so that the later
//! record wins, giving disjoint segments that can be written in one pass, in offset order, with the fewest
//! system calls (see `segment_write`). Pure bookkeeping: no I/O, no copy of payload bytes.

use std::collections::BTreeMap;
use std::ops::Range;

use super::RecordHeader;

/// A run of payload bytes to write: `len` bytes of the input buffer at `start` go to output `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Segment {
    /// Offset in the output of the first byte.
    pub offset: u64,
    /// Where the bytes are in the input buffer.
    pub start: usize,
    /// Number of bytes (never 0).
    pub len: usize,
    /// The record the bytes come from: an index into [`Batch::records`]; increases in stream order.
    pub record: u32,
}

impl Segment {
    /// One past the last output offset.
    pub fn end(&self) -> u64 {
        self.offset + self.len as u64
    }

    /// The input-buffer range of the bytes.
    pub fn range(&self) -> Range<usize> {
        self.start..self.start + self.len
    }

    /// The part of this segment that lands on output range `from..to` (which must lie inside it).
    fn part(&self, from: u64, to: u64) -> Segment {
        let skip = (from - self.offset) as usize;
        Segment {
            offset: from,
            start: self.start + skip,
            len: (to - from) as usize,
            record: self.record,
        }
    }
}

/// The payload pieces of one input buffer, in stream order, with the records they belong to. Bounded:
/// [`Batch::is_full`] tells the caller to write the batch out before adding more.
pub(super) struct Batch {
    pieces: Vec<Segment>,
    records: Vec<RecordHeader>,
    max_pieces: usize,
    /// Scratch of the overlap resolution, kept to reuse its allocation.
    resolved: Vec<Segment>,
}

impl Batch {
    /// An empty batch that reports itself full at `max_pieces` pieces.
    pub fn new(max_pieces: usize) -> Self {
        Batch {
            pieces: Vec::new(),
            records: Vec::new(),
            max_pieces: max_pieces.max(1),
            resolved: Vec::new(),
        }
    }

    /// Whether nothing has been added since the last [`Batch::clear`].
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Whether the batch has reached its bound and must be written out.
    pub fn is_full(&self) -> bool {
        self.pieces.len() >= self.max_pieces
    }

    /// Adds the payload bytes `range` of the input buffer, to be written at `offset`, from `record`
    /// (pieces of one record arrive in order, one record after the other).
    pub fn add(&mut self, record: &RecordHeader, offset: u64, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        if self.records.last().map(|r| r.index) != Some(record.index) {
            self.records.push(*record);
        }
        self.pieces.push(Segment {
            offset,
            start: range.start,
            len: range.len(),
            record: (self.records.len() - 1) as u32,
        });
    }

    /// Empties the batch, keeping its allocations.
    pub fn clear(&mut self) {
        self.pieces.clear();
        self.records.clear();
        self.resolved.clear();
    }

    /// The bytes the batch writes, as segments sorted by output offset and disjoint: where pieces overlap,
    /// each byte comes from the latest record that writes it (a later piece replaces exactly the part of an
    /// earlier one that it overlaps). Writing them in any order gives the file that writing the pieces one
    /// by one in stream order gives.
    /// Returns them with the records they come from (indexed by [`Segment::record`]).
    pub fn resolve(&mut self) -> (&[Segment], &[RecordHeader]) {
        // pieces of one record are disjoint and ascending, so (offset, record) sorts without ties
        self.pieces.sort_unstable_by_key(|p| (p.offset, p.record));
        let overlapping = self
            .pieces
            .windows(2)
            .any(|pair| pair[0].end() > pair[1].offset);
        if !overlapping {
            return (&self.pieces, &self.records);
        }
        self.resolved.clear();
        // latest record first: each piece keeps only what no later record covers
        self.pieces
            .sort_unstable_by_key(|p| (std::cmp::Reverse(p.record), p.offset));
        let mut covered = CoveredRanges::default();
        for piece in &self.pieces {
            covered.add(piece.offset, piece.end(), |from, to| {
                self.resolved.push(piece.part(from, to))
            });
        }
        self.resolved.sort_unstable_by_key(|p| p.offset);
        (&self.resolved, &self.records)
    }
}

/// Disjoint output ranges already claimed by later records (start → end; touching ranges are merged).
#[derive(Default)]
struct CoveredRanges {
    ranges: BTreeMap<u64, u64>,
}

impl CoveredRanges {
    /// Claims `start..end`, calling `uncovered(from, to)` for each part of it not claimed before, in order.
    fn add(&mut self, start: u64, end: u64, mut uncovered: impl FnMut(u64, u64)) {
        let mut merged_start = start;
        let mut merged_end = end;
        let mut cursor = start;
        // the first range that may touch start..end is the last one starting at or before `start`
        let mut from = self
            .ranges
            .range(..=start)
            .next_back()
            .filter(|(_, &e)| e >= start)
            .map(|(&s, _)| s)
            .unwrap_or(start);
        while let Some((s, e)) = self.ranges.range(from..=end).next().map(|(&s, &e)| (s, e)) {
            if s > cursor {
                uncovered(cursor, s);
            }
            cursor = cursor.max(e);
            merged_start = merged_start.min(s);
            merged_end = merged_end.max(e);
            self.ranges.remove(&s);
            from = s;
        }
        if cursor < end {
            uncovered(cursor, end);
        }
        self.ranges.insert(merged_start, merged_end);
    }
}

#[cfg(all(test, feature = "harness"))] // the tests use proptest
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(index: u64) -> RecordHeader {
        RecordHeader {
            index,
            position: 0x1000 + index * 32,
            offset: 0,
            size: 0,
        }
    }

    /// The output bytes of `pieces` applied in stream order, as (offset → input position) pairs.
    fn painted(writes: impl IntoIterator<Item = Segment>) -> BTreeMap<u64, usize> {
        let mut bytes = BTreeMap::new();
        for s in writes {
            for i in 0..s.len {
                bytes.insert(s.offset + i as u64, s.start + i);
            }
        }
        bytes
    }

    proptest! {
        #[test]
        fn resolved_segments_are_sorted_disjoint_and_paint_like_the_stream(
            writes in prop::collection::vec((0u64..300, 1usize..40, 1usize..4), 1..40)
        ) {
            let mut batch = Batch::new(1000);
            let mut in_stream_order = Vec::new();
            let mut start = 0;
            for (index, &(offset, len, chunks)) in writes.iter().enumerate() {
                // a record may arrive as several chunks
                let record = record(index as u64);
                let chunk = len.div_ceil(chunks);
                let mut done = 0;
                while done < len {
                    let n = chunk.min(len - done);
                    batch.add(&record, offset + done as u64, start..start + n);
                    in_stream_order.push(Segment { offset: offset + done as u64, start, len: n, record: 0 });
                    start += n;
                    done += n;
                }
            }
            let (resolved, records) = batch.resolve();
            let (resolved, records) = (resolved.to_vec(), records.to_vec());
            for pair in resolved.windows(2) {
                prop_assert!(pair[0].end() <= pair[1].offset, "{:?}", pair);
            }
            prop_assert!(resolved.iter().all(|s| s.len > 0));
            prop_assert_eq!(painted(resolved.iter().copied()), painted(in_stream_order));
            // every segment names the record its bytes come from
            for s in &resolved {
                let r = records[s.record as usize];
                prop_assert_eq!(writes[r.index as usize].0 <= s.offset, true);
                prop_assert!(s.end() <= writes[r.index as usize].0 + writes[r.index as usize].1 as u64);
            }
        }
    }

    #[test]
    fn a_later_piece_replaces_exactly_the_overlapped_part() {
        let mut batch = Batch::new(10);
        batch.add(&record(0), 100, 0..50); // 100..150
        batch.add(&record(1), 120, 50..60); // 120..130 wins
        let resolved = batch.resolve().0.to_vec();
        let expected = vec![
            Segment {
                offset: 100,
                start: 0,
                len: 20,
                record: 0,
            },
            Segment {
                offset: 120,
                start: 50,
                len: 10,
                record: 1,
            },
            Segment {
                offset: 130,
                start: 30,
                len: 20,
                record: 0,
            },
        ];
        assert_eq!(resolved, expected);
    }

    #[test]
    fn descending_pieces_come_out_ascending_without_copies() {
        let mut batch = Batch::new(10);
        for i in 0..5u64 {
            batch.add(
                &record(i),
                40 - i * 10,
                (i as usize * 10)..(i as usize * 10 + 10),
            );
        }
        let (segments, records) = batch.resolve();
        let offsets: Vec<u64> = segments.iter().map(|s| s.offset).collect();
        assert_eq!(offsets, vec![0, 10, 20, 30, 40]);
        assert_eq!(records.len(), 5);
        assert!(!batch.is_full());
    }
}
