//! F14: which earlier records a record overwrites.
//!
//! A painter's map of the reassembled dump: the offsets where the visible owner changes ("segments"), each
//! with what is visible from there to the next boundary: one record, a hole, or a **run**. A run is a
//! sequence of records of one size written one after the other at adjacent offsets, ascending (each record
//! right after the previous one, as writers of uncompressed data do) or descending (each right before
//! it); one run describes any number of records, so a million contiguous one-byte records are one segment. Adding a
//! record removes the boundaries it covers and reports their owners (the records whose still-visible bytes
//! it replaces, as ranges of indices), then either extends the run its predecessor ended or starts a
//! segment of its own.
//!
//! Cost: O(log s) time per record plus O(k) for the k boundaries it removes, where s is the number of
//! visible segments; memory O(s), not O(records): 16 bytes of B-tree entry per segment (30–37 with the
//! tree's nodes, measured), plus a 32-byte run slot (and its place on the free list) for a segment that
//! shows a run. Streams written front to back or back to front in equal records are one segment (and the
//! hole after it); each record that lands elsewhere adds at most two boundaries (its start and its end), so
//! s ≤ 2 × records + 1.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use super::error::{FlatFinding, FlatInvariant, FlatWarning};
use super::RecordHeader;

/// A segment's value: a record index (below [`RUN_FLAG`]), [`HOLE`], or `RUN_FLAG | slot` for a run.
/// Record indices stay below 2^63: every record takes at least 16 bytes of a stream whose length is a u64.
type Owner = u64;
/// The value of a segment no record has written.
const HOLE: Owner = u64::MAX;
/// Marks a segment value as an index into the run slots.
const RUN_FLAG: Owner = 1 << 63;

/// The records of a run: the record starting at `anchor` is `index`; each further `stride` bytes the index
/// goes up by one (ascending) or down by one (descending). `anchor` is at or before every segment that uses
/// the slot, so the owner of `o` is `index ± (o - anchor) / stride`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    anchor: u64,
    stride: u64,
    index: u64,
    descending: bool,
}

impl Run {
    /// The record whose byte `offset` is (for `offset` at or after `anchor`, inside the run).
    fn owner_at(&self, offset: u64) -> u64 {
        let step = (offset - self.anchor) / self.stride;
        if self.descending {
            self.index - step
        } else {
            self.index + step
        }
    }
}

/// What a segment shows, resolved from its [`Owner`] value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Hole,
    Record(u64),
    Run(Run),
}

impl Shown {
    /// The records visible in `[start, end)` of a segment showing `self` (empty for a hole): a run's
    /// records there are consecutive, so one range.
    fn owners(&self, start: u64, end: u64) -> Option<RangeInclusive<u64>> {
        match *self {
            Shown::Hole => None,
            Shown::Record(index) => Some(index..=index),
            Shown::Run(run) => {
                let (first, last) = (run.owner_at(start), run.owner_at(end - 1));
                Some(first.min(last)..=first.max(last))
            }
        }
    }
}

/// Tracks the visible owner of every byte range written so far.
#[derive(Debug, Default)]
pub struct OverlapTracker {
    /// boundary offset → what is visible from there to the next boundary. Below the first boundary is a
    /// hole; the last boundary is always a hole (the end of the furthest record).
    segments: BTreeMap<u64, Owner>,
    /// The runs that segments show (`RUN_FLAG | slot`); each slot is used by exactly one segment.
    runs: Vec<Run>,
    /// Slots of `runs` no segment uses.
    free_runs: Vec<usize>,
    /// The last record added (with a payload): the only one a new record can extend a run from.
    last: Option<RecordHeader>,
    overlapping_records: u64,
}

impl OverlapTracker {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `record` as written last; returns the indices (ascending, unique) of the earlier records
    /// whose visible bytes it overwrites. [`OverlapTracker::add_ranges`] gives the same as ranges, without
    /// one entry per record.
    pub fn add(&mut self, record: &RecordHeader) -> Vec<u64> {
        self.add_ranges(record).into_iter().flatten().collect()
    }

    /// Records `record` as written last; returns the earlier records whose visible bytes it overwrites, as
    /// ascending, disjoint, non-adjacent ranges of record indices.
    pub fn add_ranges(&mut self, record: &RecordHeader) -> Vec<RangeInclusive<u64>> {
        let (start, end) = (record.offset, record.end());
        if start == end {
            return Vec::new();
        }
        // What shows at `end` before this record: the next segment starts there afterwards.
        let after = self.shown_at(end);
        let owners = self.remove_covered(start, end);
        if !self.segments.contains_key(&end) {
            let value = self.store(after);
            self.segments.insert(end, value);
            self.simplify(end);
        }
        if !self.extend_ascending_run(record) && !self.extend_descending_run(record) {
            self.segments.insert(start, record.index);
        }
        self.last = Some(*record);
        if !owners.is_empty() {
            self.overlapping_records += 1;
        }
        owners
    }

    /// Number of records added so far that overwrote earlier ones.
    pub fn overlapping_records(&self) -> u64 {
        self.overlapping_records
    }

    /// Number of visible segments (records, runs and holes) the map holds now: what its memory grows with.
    pub fn segments(&self) -> usize {
        self.segments.len()
    }

    /// The record whose byte at `offset` of the reassembled dump is visible now (`None`: no record wrote
    /// it).
    pub fn owner_at(&self, offset: u64) -> Option<u64> {
        match self.shown_at(offset) {
            Shown::Hole => None,
            Shown::Record(index) => Some(index),
            Shown::Run(run) => Some(run.owner_at(offset)),
        }
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

    /// What the segment containing `offset` shows.
    fn shown_at(&self, offset: u64) -> Shown {
        self.segments
            .range(..=offset)
            .next_back()
            .map_or(Shown::Hole, |(_, &value)| self.resolve(value))
    }

    fn resolve(&self, value: Owner) -> Shown {
        match value {
            HOLE => Shown::Hole,
            v if v & RUN_FLAG != 0 => Shown::Run(self.runs[(v & !RUN_FLAG) as usize]),
            index => Shown::Record(index),
        }
    }

    /// The value for a new segment showing `shown` (a run gets a slot of its own).
    fn store(&mut self, shown: Shown) -> Owner {
        match shown {
            Shown::Hole => HOLE,
            Shown::Record(index) => index,
            Shown::Run(run) => {
                let slot = match self.free_runs.pop() {
                    Some(slot) => {
                        self.runs[slot] = run;
                        slot
                    }
                    None => {
                        self.runs.push(run);
                        self.runs.len() - 1
                    }
                };
                RUN_FLAG | slot as u64
            }
        }
    }

    /// Frees the run slot of a segment value that is no longer in the map.
    fn release(&mut self, value: Owner) {
        if value != HOLE && value & RUN_FLAG != 0 {
            self.free_runs.push((value & !RUN_FLAG) as usize);
        }
    }

    /// Removes the boundaries in `[start, end)` and returns the owners of the bytes there, merged into
    /// ascending disjoint ranges.
    fn remove_covered(&mut self, start: u64, end: u64) -> Vec<RangeInclusive<u64>> {
        let mut owners = Vec::new();
        if let Some((&key, &value)) = self.segments.range(..start).next_back() {
            let piece_end = self
                .segments
                .range(start..)
                .next()
                .map_or(end, |(&next, _)| next.min(end));
            if piece_end > start {
                owners.extend(self.resolve(value).owners(start, piece_end));
                // The segment before `start` now ends there; it may have become one record of its run.
                self.simplify_until(key, start);
            }
        }
        let covered: Vec<(u64, Owner)> = self
            .segments
            .range(start..end)
            .map(|(&k, &v)| (k, v))
            .collect();
        for (i, &(key, value)) in covered.iter().enumerate() {
            let piece_end = covered.get(i + 1).map_or_else(
                || {
                    self.segments
                        .range(end..)
                        .next()
                        .map_or(end, |(&next, _)| next.min(end))
                },
                |&(next, _)| next,
            );
            owners.extend(self.resolve(value).owners(key, piece_end));
            self.segments.remove(&key);
            self.release(value);
        }
        owners.sort_unstable_by_key(|range| *range.start());
        let mut merged: Vec<RangeInclusive<u64>> = Vec::with_capacity(owners.len());
        for range in owners {
            match merged.last_mut() {
                Some(last) if *range.start() <= last.end().saturating_add(1) => {
                    *last = *last.start()..=(*last.end()).max(*range.end());
                }
                _ => merged.push(range),
            }
        }
        merged
    }

    /// If the run segment at `key` now shows a single record, stores it as that record (frees its slot).
    fn simplify(&mut self, key: u64) {
        let after_key = (std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded);
        if let Some((&next, _)) = self.segments.range(after_key).next() {
            self.simplify_until(key, next);
        }
    }

    /// [`OverlapTracker::simplify`] for the segment at `key` ending at `end`.
    fn simplify_until(&mut self, key: u64, end: u64) {
        let value = self.segments[&key];
        if let Shown::Run(run) = self.resolve(value) {
            let owner = run.owner_at(key);
            if owner == run.owner_at(end - 1) {
                self.release(value);
                self.segments.insert(key, owner);
            }
        }
    }

    /// The record just before `record`, if it has `record`'s size and `record` is the next one after it.
    fn predecessor_of_same_size(&self, record: &RecordHeader) -> Option<RecordHeader> {
        self.last
            .filter(|last| last.index + 1 == record.index && last.size == record.size)
    }

    /// Extends an ascending run by `record` when it starts where the record before it (of the same size)
    /// ended: the segment showing that record then shows `record` too. The boundaries in `record`'s range
    /// have been removed.
    fn extend_ascending_run(&mut self, record: &RecordHeader) -> bool {
        let Some(last) = self.predecessor_of_same_size(record) else {
            return false;
        };
        if last.end() != record.offset {
            return false;
        }
        let Some((&key, &value)) = self.segments.range(..record.offset).next_back() else {
            return false;
        };
        match self.resolve(value) {
            // The segment shows only the last record (all of it is visible: it was written last).
            _ if key >= last.offset => {
                self.release(value);
                let run = Run {
                    anchor: last.offset,
                    stride: record.size,
                    index: last.index,
                    descending: false,
                };
                let value = self.store(Shown::Run(run));
                self.segments.insert(key, value);
                true
            }
            // An ascending run that ends with the last record (its records have the record's size, so
            // the run's next record is the one added).
            Shown::Run(run) => !run.descending && run.stride == record.size,
            _ => false,
        }
    }

    /// Extends a descending run by `record` when it ends where the record before it (of the same size)
    /// started: the segment showing that record moves to `record`'s start and shows both.
    fn extend_descending_run(&mut self, record: &RecordHeader) -> bool {
        let Some(last) = self.predecessor_of_same_size(record) else {
            return false;
        };
        if record.end() != last.offset {
            return false;
        }
        let Some(&value) = self.segments.get(&last.offset) else {
            return false;
        };
        let extendable = match self.resolve(value) {
            Shown::Record(index) => index == last.index,
            // An ascending run whose record at `last.offset` is the last record shows only that record
            // from there on (no later record exists yet).
            Shown::Run(run) => run.stride == record.size && run.owner_at(last.offset) == last.index,
            Shown::Hole => false,
        };
        if !extendable {
            return false;
        }
        self.segments.remove(&last.offset);
        self.release(value);
        let run = Run {
            anchor: record.offset,
            stride: record.size,
            index: record.index,
            descending: true,
        };
        let value = self.store(Shown::Run(run));
        self.segments.insert(record.offset, value);
        true
    }

    /// Every run slot is used by exactly one segment or is free, and no segment shows one record as a run.
    #[cfg(all(test, feature = "harness"))]
    fn check_slots(&self) {
        let mut used = vec![0usize; self.runs.len()];
        let keys: Vec<u64> = self.segments.keys().copied().collect();
        for (i, key) in keys.iter().enumerate() {
            let value = self.segments[key];
            if value != HOLE && value & RUN_FLAG != 0 {
                used[(value & !RUN_FLAG) as usize] += 1;
                let Shown::Run(run) = self.resolve(value) else {
                    unreachable!()
                };
                let end = keys[i + 1];
                assert!(run.anchor <= *key, "anchor after segment {key}");
                assert_ne!(run.owner_at(*key), run.owner_at(end - 1), "one record");
            }
        }
        assert_eq!(self.segments.values().last().copied(), Some(HOLE));
        for &slot in &self.free_runs {
            used[slot] += 1;
        }
        assert!(used.iter().all(|&n| n == 1), "slots used: {used:?}");
    }
}

#[cfg(all(test, feature = "harness"))]
#[path = "overlaps_tests.rs"]
mod tests;
