//! Fuzz target `index_vs_replay`: every read through the in-place index ([`FlatIndex`]) equals the same read
//! of the reassembled file, computed by replaying the records one after the other.
//!
//! The oracle is deliberately naive and independent of the index's sort-and-sweep: it replays every payload
//! byte into a map from reassembled offset to byte (the later record overwrites), so its memory is bounded by
//! the input's size whatever offsets the records name (offsets past 4 GiB included). Holes are offsets
//! absent from the map; they must read as zeros.

use std::collections::BTreeMap;

use arbitrary::{Arbitrary, Unstructured};

use crate::flat::index::FlatIndex;
use crate::flat::{
    decode_record_header, parse_file_header, ParseMode, RecordOrEnd, FLAT_HEADER_SIZE,
    RECORD_HEADER_SIZE,
};
use crate::readat::ReadAt;
use crate::sink::{DumpSink, FlatSink};

/// Runs both checks on `data`: `data` itself read as a flattened file, and a flattened file built from a
/// record sequence that `data` describes. Panics on any disagreement between index and replay.
pub fn run(data: &[u8]) {
    check_flattened_bytes(data);
    let mut input = Unstructured::new(data);
    if let Ok(writes) = Vec::<FuzzWrite>::arbitrary(&mut input) {
        let flattened = flatten(&writes);
        let index = FlatIndex::open(flattened.as_slice());
        assert!(
            index.is_ok(),
            "a well-formed stream was rejected: {:?}",
            index.err()
        );
        check_flattened_bytes(&flattened);
    }
}

/// One write of a generated record sequence: small offsets so that records overlap often, sometimes moved
/// past 4 GiB.
#[derive(Debug, Arbitrary)]
struct FuzzWrite {
    offset: u16,
    high: bool,
    len: u8,
    fill: u8,
}

/// Flattens `writes` after a first 1-byte record at offset 0 (a strict reader requires offset 0 written, F16).
fn flatten(writes: &[FuzzWrite]) -> Vec<u8> {
    let mut sink = FlatSink::new(Vec::new());
    sink.write_at(0, &[0x5A])
        .expect("writing to a Vec cannot fail");
    for (i, write) in writes.iter().enumerate() {
        let offset = u64::from(write.offset % 1024) + if write.high { 1 << 32 } else { 0 };
        let len = usize::from(write.len).max(1);
        // Bytes that differ per write and per position, so that a wrong owner shows.
        let payload: Vec<u8> = (0..len)
            .map(|k| write.fill ^ (i as u8).wrapping_mul(31) ^ (k as u8))
            .collect();
        sink.write_at(offset, &payload)
            .expect("writing to a Vec cannot fail");
    }
    sink.finish().expect("writing to a Vec cannot fail");
    sink.into_inner()
}

/// What a sequential replay of a flattened file leaves.
struct Replay {
    bytes: BTreeMap<u64, u8>,
    length: u64,
}

/// Replays `flat` record by record (strict checks), or `None` if it is not a valid flattened file.
fn replay(flat: &[u8]) -> Option<Replay> {
    parse_file_header(flat, ParseMode::Strict).ok()?;
    let mut position = FLAT_HEADER_SIZE;
    let mut replay = Replay {
        bytes: BTreeMap::new(),
        length: 0,
    };
    let mut index = 0u64;
    loop {
        let header: &[u8; RECORD_HEADER_SIZE] = flat
            .get(position..position + RECORD_HEADER_SIZE)?
            .try_into()
            .ok()?;
        match decode_record_header(header, index, position as u64).ok()? {
            RecordOrEnd::End => break,
            RecordOrEnd::Record(record) => {
                let start = position + RECORD_HEADER_SIZE;
                let size = usize::try_from(record.size).ok()?;
                let payload = flat.get(start..start.checked_add(size)?)?;
                for (k, byte) in payload.iter().enumerate() {
                    replay.bytes.insert(record.offset + k as u64, *byte);
                }
                replay.length = replay.length.max(record.end());
                position = start + size;
                index += 1;
            }
        }
    }
    let valid =
        position + RECORD_HEADER_SIZE == flat.len() && index > 0 && replay.bytes.contains_key(&0);
    valid.then_some(replay)
}

/// Indexes `flat` and replays it; both must accept or reject it, and agree on every byte.
fn check_flattened_bytes(flat: &[u8]) {
    let index = FlatIndex::open(flat);
    let replayed = replay(flat);
    let (index, replayed) = match (index, replayed) {
        (Ok(index), Some(replayed)) => (index, replayed),
        (Err(_), None) => return,
        (Ok(_), None) => panic!("the index accepted a stream the replay rejects"),
        (Err(e), Some(_)) => panic!("the index rejected a stream the replay accepts: {e}"),
    };
    assert_eq!(index.len(), replayed.length, "reassembled length");
    let expected_byte = |offset: u64| replayed.bytes.get(&offset).copied().unwrap_or(0);

    // Every written byte, and the bytes around every extent boundary, one byte at a time.
    let mut offsets: Vec<u64> = replayed.bytes.keys().copied().collect();
    for (start, len, _) in index.extents() {
        offsets.extend([start.saturating_sub(1), start, start + len - 1, start + len]);
    }
    offsets.push(replayed.length.saturating_sub(1));
    for &offset in &offsets {
        let mut byte = [0xAAu8];
        let n = index.read_at(offset, &mut byte).expect("reading a slice");
        if offset < replayed.length {
            assert_eq!(n, 1, "read of 1 byte at {offset:#x}");
            assert_eq!(byte[0], expected_byte(offset), "byte at {offset:#x}");
        } else {
            assert_eq!(n, 0, "read at {offset:#x}, at or past the end");
        }
    }

    // Multi-byte reads spanning several extents, and reads that run past the end.
    for window in offsets.windows(2).step_by(3) {
        let (start, end) = (window[0].min(window[1]), window[0].max(window[1]));
        let len = (end - start + 7).min(4096) as usize;
        let mut buf = vec![0xAAu8; len];
        let n = index.read_at(start, &mut buf).expect("reading a slice");
        let expected_n = replayed.length.saturating_sub(start).min(len as u64) as usize;
        assert_eq!(
            n, expected_n,
            "length of a read of {len} bytes at {start:#x}"
        );
        for (k, byte) in buf[..n].iter().enumerate() {
            assert_eq!(
                *byte,
                expected_byte(start + k as u64),
                "byte at {:#x}",
                start + k as u64
            );
        }
        let exact = index.read_exact_at(start, &mut buf);
        assert_eq!(
            exact.is_ok(),
            n == len,
            "read_exact_at of {len} bytes at {start:#x}"
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::fuzzing::smoke::{behind_flat_header, random_bytes, SmokeLoop};

    #[test]
    fn smoke() {
        let smoke = SmokeLoop {
            target: "index_vs_replay",
            seed: 5,
            rounds: 300,
        };
        smoke.run(super::run, |rng, _| {
            let data = random_bytes(rng, 2048);
            // The same bytes behind a valid file header too, so that they are read as records.
            let flat = behind_flat_header(&data);
            vec![data, flat]
        });
    }
}
