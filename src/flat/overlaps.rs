//! F14: which earlier records a record overwrites.
//!
//! A painter's map of the reassembled dump: the offsets where the visible owner changes, each with the
//! record whose bytes are visible from there on (or a hole). Adding a record removes the boundaries it
//! covers and reports their owners: the records whose (still visible) bytes it replaces. Each record adds
//! at most two boundaries and every overlap removes one, so n records cost O(n log n) time and O(n)
//! memory: one 16-byte map entry per visible segment (about 30 bytes with the B-tree's nodes; a file
//! written front to back, as QEMU and makedumpfile write, has one segment per record).

use std::collections::BTreeMap;

use super::error::{FlatFinding, FlatInvariant, FlatWarning};
use super::RecordHeader;

/// The owner of a range no record has written.
const HOLE: u64 = u64::MAX;

/// Tracks the visible owner of every byte range written so far.
#[derive(Debug, Default)]
pub struct OverlapTracker {
    /// boundary offset → owning record index from there to the next boundary ([`HOLE`]: nobody's). Below
    /// the first boundary is a hole too.
    boundaries: BTreeMap<u64, u64>,
    overlapping_records: u64,
}

impl OverlapTracker {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The owner of the byte at `offset` ([`HOLE`] if nobody wrote it).
    fn owner_at(&self, offset: u64) -> u64 {
        self.boundaries
            .range(..=offset)
            .next_back()
            .map_or(HOLE, |(_, &owner)| owner)
    }

    /// Records `record` as written last; returns the indices (ascending, unique) of the earlier records
    /// whose visible bytes it overwrites.
    pub fn add(&mut self, record: &RecordHeader) -> Vec<u64> {
        let (start, end) = (record.offset, record.end());
        if start == end {
            return Vec::new();
        }
        let owner_after = self.owner_at(end);
        let mut owners: Vec<u64> = std::iter::once(self.owner_at(start))
            .chain(self.boundaries.range(start + 1..end).map(|(_, &o)| o))
            .filter(|&owner| owner != HOLE)
            .collect();
        let covered: Vec<u64> = self.boundaries.range(start..end).map(|(&k, _)| k).collect();
        for boundary in covered {
            self.boundaries.remove(&boundary);
        }
        self.boundaries.insert(start, record.index);
        self.boundaries.entry(end).or_insert(owner_after);
        owners.sort_unstable();
        owners.dedup();
        if !owners.is_empty() {
            self.overlapping_records += 1;
        }
        owners
    }

    /// Number of records added so far that overwrote earlier ones.
    pub fn overlapping_records(&self) -> u64 {
        self.overlapping_records
    }

    /// The F14 finding for `record` overwriting `owners` (a note, not an error: later records win).
    pub fn finding(record: &RecordHeader, owners: &[u64]) -> Option<FlatWarning> {
        (!owners.is_empty()).then(|| {
            let list: Vec<String> = owners.iter().map(|o| o.to_string()).collect();
            FlatWarning(FlatFinding::in_record(
                FlatInvariant::F14,
                record.index,
                record.position,
                format!(
                    "overwrites bytes of earlier record(s) {} (the later record wins)",
                    list.join(", ")
                ),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: u64, offset: u64, size: u64) -> RecordHeader {
        RecordHeader {
            index,
            position: 0,
            offset,
            size,
        }
    }

    #[test]
    fn reports_only_visible_owners() {
        let mut tracker = OverlapTracker::new();
        assert!(tracker.add(&record(0, 0, 100)).is_empty());
        assert_eq!(tracker.add(&record(1, 10, 10)), vec![0]);
        assert_eq!(tracker.add(&record(2, 5, 20)), vec![0, 1]);
        assert!(tracker.add(&record(3, 100, 1)).is_empty());
        assert_eq!(tracker.add(&record(4, 99, 2)), vec![0, 3]);
        assert_eq!(tracker.add(&record(5, 0, 1000)), vec![0, 2, 4]);
        assert_eq!(tracker.overlapping_records(), 4);
    }

    proptest::proptest! {
        /// The map against a byte-by-byte replay: the owners reported are exactly the distinct earlier
        /// records visible in the new record's range.
        #[test]
        fn matches_a_byte_by_byte_replay(
            writes in proptest::collection::vec((0u64..64, 1u64..24), 1..40)
        ) {
            let mut tracker = OverlapTracker::new();
            let mut visible: Vec<Option<u64>> = vec![None; 128];
            for (index, &(offset, size)) in writes.iter().enumerate() {
                let index = index as u64;
                let range = offset as usize..(offset + size) as usize;
                let mut want: Vec<u64> = visible[range.clone()].iter().flatten().copied().collect();
                want.sort_unstable();
                want.dedup();
                proptest::prop_assert_eq!(tracker.add(&record(index, offset, size)), want);
                visible[range].fill(Some(index));
            }
        }
    }
}
