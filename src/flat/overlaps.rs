//! F14: which earlier records a record overwrites.
//!
//! A painter's map of the reassembled dump: disjoint segments, each owned by the record whose bytes are
//! currently visible there. Adding a record removes or trims the segments it covers and reports their
//! owners: the records whose (still visible) bytes it replaces. Each record adds at most three segments and
//! every overlap removes one, so n records cost O(n log n) time and O(n) memory.

use std::collections::BTreeMap;

use super::error::{FlatFinding, FlatInvariant, FlatWarning};
use super::RecordHeader;

/// Tracks the visible owner of every byte range written so far.
#[derive(Debug, Default)]
pub struct OverlapTracker {
    /// start → (end, owning record index)
    segments: BTreeMap<u64, (u64, u64)>,
    overlapping_records: u64,
}

impl OverlapTracker {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `record` as written last; returns the indices (ascending, unique) of the earlier records
    /// whose visible bytes it overwrites.
    pub fn add(&mut self, record: &RecordHeader) -> Vec<u64> {
        let (start, end) = (record.offset, record.end());
        if start == end {
            return Vec::new();
        }
        let mut covered = Vec::new();
        if let Some((&seg_start, &(seg_end, owner))) = self.segments.range(..start).next_back() {
            if seg_end > start {
                covered.push((seg_start, seg_end, owner));
            }
        }
        covered.extend(
            self.segments
                .range(start..end)
                .map(|(&seg_start, &(seg_end, owner))| (seg_start, seg_end, owner)),
        );
        let mut owners = Vec::with_capacity(covered.len());
        for (seg_start, seg_end, owner) in covered {
            self.segments.remove(&seg_start);
            if seg_start < start {
                self.segments.insert(seg_start, (start, owner));
            }
            if seg_end > end {
                self.segments.insert(end, (seg_end, owner));
            }
            owners.push(owner);
        }
        self.segments.insert(start, (end, record.index));
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
}
