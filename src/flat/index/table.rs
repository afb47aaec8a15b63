//! The tables the index is built in: the records as the scan found them ([`RecordTable`]), kept in
//! 24 bytes per record, and the chunked list that collects them.

use crate::flat::RECORD_HEADER_SIZE;

/// The `value` of an extent entry that is a hole.
pub(super) const HOLE: u64 = u64::MAX;

/// An entry of the index's table. While the index is built it names a record, `(offset, record number)`,
/// sorted by offset; the sweep then overwrites the same table in place with extents, `(start, position)`:
/// an extent starts at reassembled offset `offset` and runs to the next extent's start (or to the
/// reassembled length for the last one); `value` is the flattened-file position of its first byte, or
/// [`HOLE`]. Reusing one table keeps the memory of the build at 24 bytes per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) offset: u64,
    pub(super) value: u64,
}
/// The records of a flattened file as the header scan found them, in 24 bytes per record: their offsets
/// (`entries`: offset, record number; sorted by offset before the sweep) and their payload positions in
/// stream order (`payloads`, kept in chunks, with one more entry: the position of the end marker plus 16,
/// so that record `i` has `payloads[i + 1] - 16 - payloads[i]` bytes; sizes are not stored).
pub(super) struct RecordTable {
    pub(super) entries: Vec<Entry>,
    pub(super) payloads: ChunkedVec<u64>,
}

impl RecordTable {
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn size(&self, record: u64) -> u64 {
        self.payload(record + 1) - RECORD_HEADER_SIZE as u64 - self.payload(record)
    }

    pub(super) fn payload(&self, record: u64) -> u64 {
        self.payloads.get(record as usize)
    }
}

/// A growing list stored in fixed-size chunks, so that collecting an unknown number of items never holds
/// two copies of the list (as doubling a `Vec` does while it moves).
pub(super) struct ChunkedVec<T> {
    full: Vec<Vec<T>>,
    current: Vec<T>,
}

/// Items per chunk of a [`ChunkedVec`].
pub(super) const CHUNK_ITEMS: usize = 1 << 14;

impl<T> ChunkedVec<T> {
    pub(super) fn new() -> Self {
        ChunkedVec {
            full: Vec::new(),
            current: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, item: T) {
        if self.current.len() == CHUNK_ITEMS {
            let full = std::mem::replace(&mut self.current, Vec::with_capacity(CHUNK_ITEMS));
            self.full.push(full);
        } else if self.current.capacity() == 0 {
            self.current.reserve_exact(CHUNK_ITEMS);
        }
        self.current.push(item);
    }

    pub(super) fn len(&self) -> usize {
        self.full.len() * CHUNK_ITEMS + self.current.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `i` (which must exist).
    pub(super) fn get(&self, i: usize) -> T
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
    pub(super) fn into_vec(self, extra: usize) -> Vec<T> {
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
