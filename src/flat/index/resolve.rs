//! Resolving the records into extents: sort by offset, then sweep, the later record winning where records
//! overlap (F14) and unwritten ranges becoming holes.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::table::{Entry, RecordTable, HOLE};

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
/// The records resolved into extents.
pub(super) struct Resolved {
    pub(super) extents: Vec<Entry>,
    pub(super) length: u64,
    pub(super) overlapping: bool,
}

/// Resolves the records into the extents a sequential replay leaves: sort by offset, then sweep the
/// breakpoints (record starts and ends) keeping the records that cover the current point on a max-heap by
/// record number; at every breakpoint the latest of them owns the bytes up to the next breakpoint.
///
/// The extents are written into the sorted table itself, behind the sweep: entry `w` is overwritten only
/// once the sweep has read (consumed) more than `w` records; extents that are ready before there is room
/// wait in a queue (only holes and split records can outrun the records consumed).
pub(super) fn resolve(table: RecordTable) -> Resolved {
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
pub(super) fn sort_by_offset(entries: &mut [Entry]) {
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
