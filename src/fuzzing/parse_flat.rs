//! Fuzz target `parse_flat`: arbitrary bytes into the flattened-format parser.
//!
//! Checks, beyond "no panic, no hang, no allocation sized by an input field":
//! - the outcome does not depend on how the input arrives (whole, or in reads of 1..=k bytes);
//! - strict acceptance implies lenient acceptance with the same records; a lenient error is a strict error;
//! - warnings come only from the invariants allowed in each mode;
//! - every accepted record satisfies F8–F10; payload chunks are contiguous and never exceed the chunk size;
//! - for small dumps, replaying the payloads into a byte model equals `RawSink`'s output, and the overlap
//!   tracker's view (who owns each byte) matches the model.

use std::io::Read;

use crate::flat::{FlatEvent, FlatInvariant, FlatReader, OverlapTracker, ParseMode, RecordHeader};
use crate::sink::{DumpSink, RawSink};

/// Payload chunk size used by the target (small, so that chunking paths are exercised).
const CHUNK: usize = 4096;
/// Largest reassembled dump the target replays in memory.
const MAX_REPLAY_LEN: u64 = 1 << 20;
/// Largest reassembled dump whose owners the target replays byte by byte (8 bytes a byte).
const MAX_OWNER_REPLAY_LEN: u64 = 1 << 16;

/// What a parse produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    records: Vec<RecordHeader>,
    payloads: Vec<(u64, Vec<u8>)>,
    warnings: Vec<FlatInvariant>,
    error: Option<String>,
}

struct LimitedReads<'a> {
    data: &'a [u8],
    max: usize,
}

impl Read for LimitedReads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.max.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn parse(input: impl Read, mode: ParseMode, keep_payloads: bool) -> Outcome {
    let mut reader = FlatReader::with_chunk_size(input, mode, CHUNK);
    let mut records: Vec<RecordHeader> = Vec::new();
    let mut payloads: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut next_offset = 0;
    let error = loop {
        match reader.next_event() {
            Ok(None) => break None,
            Ok(Some(FlatEvent::Record(record))) => {
                assert!(record.offset <= i64::MAX as u64 && record.size <= i64::MAX as u64);
                assert!(record
                    .offset
                    .checked_add(record.size)
                    .is_some_and(|e| e <= i64::MAX as u64));
                next_offset = record.offset;
                records.push(record);
                if keep_payloads {
                    payloads.push((record.offset, Vec::new()));
                }
            }
            Ok(Some(FlatEvent::Data {
                record,
                offset,
                bytes,
            })) => {
                assert!(!bytes.is_empty() && bytes.len() <= CHUNK);
                assert_eq!(Some(&record), records.last());
                assert_eq!(offset, next_offset);
                next_offset += bytes.len() as u64;
                assert!(next_offset <= record.end());
                if let Some((_, payload)) = payloads.last_mut() {
                    payload.extend_from_slice(bytes);
                }
            }
            Ok(Some(FlatEvent::End)) => {}
            Err(e) => break Some(e.to_string()),
        }
    };
    Outcome {
        records,
        payloads,
        warnings: reader.warnings().iter().map(|w| w.invariant()).collect(),
        error,
    }
}

/// Runs every check on `data`; panics if one fails.
pub fn parse_flat(data: &[u8]) {
    use FlatInvariant::*;
    let keep_payloads = data.len() <= 1 << 20;
    let strict = parse(data, ParseMode::Strict, keep_payloads);
    let lenient = parse(data, ParseMode::Lenient, keep_payloads);

    let max_read = 1 + data.first().copied().unwrap_or(0) as usize % 17;
    let pieces = parse(
        LimitedReads {
            data,
            max: max_read,
        },
        ParseMode::Strict,
        keep_payloads,
    );
    assert_eq!(pieces, strict, "outcome depends on how the input arrives");

    assert!(strict.warnings.iter().all(|w| [F3, F6, F17].contains(w)));
    assert!(lenient
        .warnings
        .iter()
        .all(|w| [F3, F5, F6, F9, F12, F16, F17].contains(w)));
    if strict.error.is_none() {
        assert!(
            lenient.error.is_none(),
            "strict accepts what lenient rejects"
        );
        assert_eq!(strict.records, lenient.records);
    }
    if lenient.error.is_some() {
        assert!(
            strict.error.is_some(),
            "lenient rejects what strict accepts"
        );
    }

    check_overlaps(&lenient.records);
    if keep_payloads && lenient.error.is_none() {
        replay_small_dump(&lenient);
    }
}

/// The overlap tracker against a byte-by-byte replay of who owns each byte: the records each record
/// overwrites, and the owner of every byte at the end (for dumps up to [`MAX_OWNER_REPLAY_LEN`]).
fn check_overlaps(records: &[RecordHeader]) {
    const NOBODY: u64 = u64::MAX;
    let len = records.iter().map(|r| r.end()).max().unwrap_or(0);
    let mut model = (len <= MAX_OWNER_REPLAY_LEN).then(|| vec![NOBODY; len as usize]);
    let mut tracker = OverlapTracker::new();
    for record in records {
        let reported = tracker.add(record);
        assert!(reported.iter().all(|&o| o < record.index));
        if let Some(model) = model.as_mut() {
            let range = record.offset as usize..record.end() as usize;
            let mut owners: Vec<u64> = model[range.clone()]
                .iter()
                .copied()
                .filter(|&o| o != NOBODY)
                .collect();
            owners.sort_unstable();
            owners.dedup();
            assert_eq!(
                reported, owners,
                "records overwritten by record {}",
                record.index
            );
            model[range].fill(record.index);
        }
    }
    for (offset, &owner) in model.iter().flatten().enumerate() {
        let want = (owner != NOBODY).then_some(owner);
        assert_eq!(
            tracker.owner_at(offset as u64),
            want,
            "owner of byte {offset}"
        );
    }
}

fn replay_small_dump(outcome: &Outcome) {
    // An empty record (the zero-size first record lenient mode accepts) writes nothing, as `lseek` +
    // `write(…, 0)` does not: it does not extend the replayed length.
    let len = outcome
        .records
        .iter()
        .filter(|r| r.size > 0)
        .map(|r| r.end())
        .max()
        .unwrap_or(0);
    if len > MAX_REPLAY_LEN {
        return;
    }
    let mut model = vec![0u8; len as usize];
    let mut raw = RawSink::in_memory();
    for (offset, payload) in outcome.payloads.iter().filter(|(_, p)| !p.is_empty()) {
        let start = *offset as usize;
        model[start..start + payload.len()].copy_from_slice(payload);
        if let Err(e) = raw.write_at(*offset, payload) {
            panic!("RawSink in memory failed: {e}");
        }
    }
    assert_eq!(raw.into_bytes(), model, "RawSink differs from the model");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::smoke::SmokeLoop;
    use rand::Rng;

    /// Valid streams of overlapping records, many in runs of equal records written back to back (both
    /// directions), so that the overlap check meets runs extended, split and overwritten.
    #[test]
    fn smoke() {
        let smoke = SmokeLoop {
            target: "parse_flat",
            seed: 13,
            rounds: 200,
        };
        smoke.run(parse_flat, |rng, _| {
            let mut stream = crate::sink::flat_header_bytes().to_vec();
            let mut record = |offset: u64, size: u64| {
                stream.extend_from_slice(&offset.to_be_bytes());
                stream.extend_from_slice(&size.to_be_bytes());
                stream.extend(std::iter::repeat_n(0x5a, size as usize));
            };
            record(0, 1);
            for _ in 0..rng.gen_range(1..12) {
                let (offset, size) = (rng.gen_range(0..300u64), rng.gen_range(1..9u64));
                let count = rng.gen_range(1..30u64);
                let descending = rng.gen_bool(0.5);
                for k in 0..count {
                    let step = if descending { count - 1 - k } else { k };
                    record(offset + step * size, size);
                }
            }
            stream.extend_from_slice(&[0xff; 16]);
            vec![stream]
        });
    }

    #[test]
    fn survives_short_and_odd_inputs() {
        parse_flat(&[]);
        parse_flat(b"makedumpfile");
        let mut header = crate::sink::flat_header_bytes().to_vec();
        header.extend_from_slice(&[0xff; 16]);
        parse_flat(&header);
        header.truncate(4096);
        header.extend_from_slice(&0i64.to_be_bytes());
        header.extend_from_slice(&(1i64 << 62).to_be_bytes());
        parse_flat(&header);
    }
}
