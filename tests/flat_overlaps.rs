//! `flat::OverlapTracker`, the painter's map behind `records` (F14), against a byte-by-byte replay of the
//! same writes: the earlier records each write overwrites, the owner of every byte, and the number of segments
//! the map keeps (its memory) on the write orders QEMU and makedumpfile use.

use kdump_flat::flat::{OverlapTracker, RecordHeader};
use proptest::prelude::*;

fn record(index: u64, offset: u64, size: u64) -> RecordHeader {
    RecordHeader {
        index,
        position: 0,
        offset,
        size,
    }
}

/// A byte-by-byte painter's map: the owner of every byte.
struct Replay(Vec<Option<u64>>);

impl Replay {
    fn new(len: usize) -> Self {
        Replay(vec![None; len])
    }

    /// Writes `(offset, size)` as record `index`; returns the distinct earlier owners it overwrites.
    fn write(&mut self, index: u64, offset: u64, size: u64) -> Vec<u64> {
        let range = offset as usize..(offset + size) as usize;
        let mut owners: Vec<u64> = self.0[range.clone()].iter().flatten().copied().collect();
        owners.sort_unstable();
        owners.dedup();
        self.0[range].fill(Some(index));
        owners
    }
}

/// Adds every write to a tracker and a replay; checks the reported owners, the ranges' shape, the map's
/// owner of every byte after each write. Returns the tracker.
fn check_against_replay(writes: &[(u64, u64)], len: usize) -> OverlapTracker {
    let mut tracker = OverlapTracker::new();
    let mut replay = Replay::new(len);
    for (index, &(offset, size)) in writes.iter().enumerate() {
        let index = index as u64;
        let want = replay.write(index, offset, size);
        let ranges = tracker.add_ranges(&record(index, offset, size));
        for pair in ranges.windows(2) {
            assert!(
                pair[0].end() + 1 < *pair[1].start(),
                "ranges not disjoint and apart: {ranges:?}"
            );
        }
        let got: Vec<u64> = ranges.into_iter().flatten().collect();
        assert_eq!(got, want, "record {index} at {offset} size {size}");
        let owners: Vec<Option<u64>> = (0..len as u64).map(|o| tracker.owner_at(o)).collect();
        assert_eq!(owners, replay.0, "after record {index}");
    }
    tracker
}

/// A piece of a write sequence: `count` records of `size` bytes from `offset`, each right after the previous
/// one (or right before it when `descending`).
#[derive(Debug, Clone)]
struct Run {
    offset: u64,
    size: u64,
    count: u64,
    descending: bool,
}

fn flatten_runs(runs: &[Run]) -> Vec<(u64, u64)> {
    let mut writes = Vec::new();
    for run in runs {
        for k in 0..run.count {
            let offset = if run.descending {
                run.offset + (run.count - 1 - k) * run.size
            } else {
                run.offset + k * run.size
            };
            writes.push((offset, run.size));
        }
    }
    writes
}

fn runs_strategy() -> impl Strategy<Value = Vec<Run>> {
    let run = (0u64..160, 1u64..6, 1u64..24, any::<bool>()).prop_map(
        |(offset, size, count, descending)| Run {
            offset,
            size,
            count,
            descending,
        },
    );
    proptest::collection::vec(run, 1..12)
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

#[test]
fn cases_the_proptests_once_shrank_to() {
    // a one-byte record twice at 0, then the next byte (the run's first records)
    check_against_replay(&[(0, 1), (0, 1), (1, 1)], 4);
    // a record starting where the segment before it ends overwrites nothing of that segment
    check_against_replay(&[(41, 8), (0, 1), (49, 1)], 64);
}

#[test]
fn contiguous_records_are_one_segment_in_either_direction() {
    for size in [1u64, 4096] {
        let mut ascending = OverlapTracker::new();
        let mut descending = OverlapTracker::new();
        let n = 10_000u64;
        for i in 0..n {
            assert!(ascending.add(&record(i, i * size, size)).is_empty());
            assert!(descending
                .add(&record(i, (n - 1 - i) * size, size))
                .is_empty());
        }
        // the run and the hole after it
        assert_eq!(ascending.segments(), 2, "ascending, size {size}");
        assert_eq!(descending.segments(), 2, "descending, size {size}");
        // one record over everything overwrites all of them: one range, not 10,000 entries
        let all = record(n, 0, n * size);
        assert_eq!(ascending.add_ranges(&all), vec![0..=n - 1]);
        assert_eq!(descending.add_ranges(&all), vec![0..=n - 1]);
        assert_eq!(ascending.segments(), 2);
    }
}

#[test]
fn a_write_into_a_run_splits_it_and_names_the_records_it_hits() {
    // 100 four-byte records ascending from 0, then bytes 41..50 (records 10, 11 and 12), then 100 more
    // descending below 1000.
    let mut writes: Vec<(u64, u64)> = (0..100).map(|i| (i * 4, 4)).collect();
    writes.push((41, 9));
    writes.extend((0..100).map(|i| (1000 - 4 * (i + 1), 4)));
    // into the descending run: records 101 + 10 (bytes 956..960) and 101 + 11 (952..956)
    writes.push((954, 4));
    // over the join of both ends of the first run's pieces and the hole between the runs
    writes.push((396, 232));
    let tracker = check_against_replay(&writes, 1100);
    let mut check = OverlapTracker::new();
    let ranges: Vec<_> = writes
        .iter()
        .enumerate()
        .map(|(i, &(offset, size))| check.add_ranges(&record(i as u64, offset, size)))
        .collect();
    assert_eq!(ranges[100], vec![10..=12]);
    assert_eq!(ranges[201], vec![111..=112]);
    // 396..628: record 99 of the first run, the hole, then the descending run's records 200 down to 194
    assert_eq!(ranges[202], vec![99..=99, 194..=200]);
    assert!(tracker.segments() <= 12, "{} segments", tracker.segments());
}

#[test]
fn a_record_that_jumps_back_every_200_adds_a_few_segments() {
    // as the measurement: ascending one-byte records, every 200th written 100 bytes back
    let mut tracker = OverlapTracker::new();
    let mut cursor = 0u64;
    for i in 0..100_000u64 {
        if i % 200 == 199 {
            assert_eq!(tracker.add(&record(i, cursor - 100, 1)).len(), 1);
        } else {
            tracker.add(&record(i, cursor, 1));
            cursor += 1;
        }
    }
    // each jump splits a run in two and adds itself; the next record starts a run
    assert!(
        tracker.segments() <= 3 * 500 + 2,
        "{} segments",
        tracker.segments()
    );
}

proptest! {
    /// Random writes: the owners reported are exactly the distinct earlier records visible in the new
    /// record's range, and the map owns every byte as the replay does.
    #[test]
    fn matches_a_byte_by_byte_replay(
        writes in proptest::collection::vec((0u64..64, 1u64..24), 1..40)
    ) {
        check_against_replay(&writes, 128);
    }

    /// Runs of equal records in both directions, crossing and overwriting one another, so that runs are
    /// extended, split, cut to one record and overwritten whole.
    #[test]
    fn runs_match_a_byte_by_byte_replay(runs in runs_strategy()) {
        let writes = flatten_runs(&runs);
        check_against_replay(&writes, 160 + 6 * 24);
    }

    /// Runs, each followed by a record of the same size written somewhere else: a run is never extended
    /// from a record other than the one written just before.
    #[test]
    fn runs_with_interruptions_match_a_replay(
        runs in runs_strategy(),
        jumps in proptest::collection::vec(0u64..160, 12),
    ) {
        let mut writes = Vec::new();
        for (run, &jump) in runs.iter().zip(&jumps) {
            writes.extend(flatten_runs(std::slice::from_ref(run)));
            writes.push((jump, run.size));
        }
        check_against_replay(&writes, 160 + 6 * 24);
    }
}
