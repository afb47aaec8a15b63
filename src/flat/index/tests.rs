//! Tests of the resolution of records into extents (`resolve.rs`) on hand-made record tables.

use super::resolve::{resolve, sort_by_offset, Resolved};
use super::table::{ChunkedVec, Entry, RecordTable, HOLE};

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
