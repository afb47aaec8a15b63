//! The run slots of the overlap map: each used by exactly one segment or free, none showing one record,
//! over random writes and runs (the reported owners are tested against a replay in tests/flat_overlaps.rs).

use super::*;
use proptest::prelude::*;

fn record(index: u64, offset: u64, size: u64) -> RecordHeader {
    RecordHeader {
        index,
        position: 0,
        offset,
        size,
    }
}

proptest! {
    #[test]
    fn run_slots_stay_consistent(
        pieces in proptest::collection::vec(
            (0u64..160, 1u64..6, 1u64..24, any::<bool>()), 1..16)
    ) {
        let mut tracker = OverlapTracker::new();
        let mut index = 0u64;
        for (offset, size, count, descending) in pieces {
            for k in 0..count {
                let step = if descending { count - 1 - k } else { k };
                tracker.add(&record(index, offset + step * size, size));
                index += 1;
                tracker.check_slots();
            }
        }
    }
}
