//! Fuzz target `reassemble`: streaming reassembly ([`crate::flat::reassemble()`]) against the in-place index
//! ([`FlatIndex`]) and against a `Vec<u8>` model that replays the records, on arbitrary record sequences.
//!
//! Two inputs are derived from the fuzzer's bytes:
//! - the bytes themselves, read as a flattened stream: reassembly and index must accept and reject the same
//!   streams (strict mode), and agree on every byte when the reassembled file is small;
//! - a record sequence described by the bytes (small offsets so records overlap, sizes 1..=256), encoded by
//!   hand, optionally with one defect injected (truncation, zero size, negative offset, i64 overflow, bad or
//!   missing end marker, trailing bytes, offset 0 never written). The model knows which invariant the
//!   defect breaks; a valid sequence must reassemble to exactly the model's bytes, through both paths.
//!
//! The reassembled output goes to an anonymous in-memory file (`memfd_create`), so a fuzzing run does not
//! touch the disk.

use std::fs::File;
use std::os::unix::fs::FileExt;

use arbitrary::{Arbitrary, Unstructured};

use crate::flat::index::FlatIndex;
use crate::flat::{
    reassemble, FlatInvariant, ReadError, ReassembleErrorKind, ReassembleOptions, FLAT_HEADER_SIZE,
    RECORD_HEADER_SIZE,
};
use crate::readat::ReadAt;

/// Largest reassembled file compared byte for byte.
const MAX_COMPARED_LEN: u64 = 4 << 20;

/// Runs both checks on `data`; panics if reassembly, index and model disagree.
pub fn run(data: &[u8]) {
    compare_on_stream(data);
    let mut input = Unstructured::new(data);
    if let Ok(sequence) = RecordSequence::arbitrary(&mut input) {
        check_sequence(&sequence);
    }
}

/// One record of a generated sequence.
#[derive(Debug, Arbitrary)]
struct FuzzRecord {
    /// Offset in units of 61 bytes (a prime, so records straddle each other at odd positions).
    offset_units: u8,
    /// Payload length minus one.
    len_minus_one: u8,
    /// Seed of the payload bytes.
    fill: u8,
}

/// A defect to inject into an otherwise valid sequence.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum Defect {
    /// Cut the stream this many bytes before its end (at least 1).
    Truncate(u16),
    /// Record `n % len` gets size 0 (F9).
    ZeroSize(u8),
    /// Record `n % len` gets a negative offset that is not -1 (F8).
    NegativeOffset(u8),
    /// Record `n % len` gets offset + size past i64::MAX (F10).
    Overflow(u8),
    /// The end marker's size is not -1 (F11).
    BadEndMarker,
    /// Bytes after the end marker (F12).
    Trailing(u8),
    /// Every record moved 1 byte up, so offset 0 is never written (F16).
    OffsetZeroUnwritten,
}

/// A record sequence and at most one defect.
#[derive(Debug, Arbitrary)]
struct RecordSequence {
    records: Vec<FuzzRecord>,
    defect: Option<Defect>,
}

/// A record after the layout rules: where it goes and what it holds.
struct PlannedRecord {
    offset: i64,
    size: i64,
    payload: Vec<u8>,
}

/// The records of `sequence` as (offset, payload); the first one always covers offset 0.
fn plan(sequence: &RecordSequence) -> Vec<PlannedRecord> {
    let shift = i64::from(matches!(sequence.defect, Some(Defect::OffsetZeroUnwritten)));
    sequence
        .records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let offset = if i == 0 {
                0
            } else {
                i64::from(record.offset_units) * 61
            } + shift;
            let len = usize::from(record.len_minus_one) + 1;
            let payload: Vec<u8> = (0..len)
                .map(|k| record.fill ^ (i as u8).wrapping_mul(37) ^ (k as u8).wrapping_mul(3))
                .collect();
            PlannedRecord {
                offset,
                size: len as i64,
                payload,
            }
        })
        .collect()
}

/// Encodes a flattened stream by hand (not through `FlatSink`, so that defects can be written) and returns
/// it with the invariant the stream breaks, if any.
fn encode(sequence: &RecordSequence) -> (Vec<u8>, Option<FlatInvariant>) {
    let mut records = plan(sequence);
    let mut expected = None;
    let pick = |n: u8, len: usize| usize::from(n) % len.max(1);
    match sequence.defect {
        Some(Defect::ZeroSize(n)) if !records.is_empty() => {
            let i = pick(n, records.len());
            records[i].size = 0;
            records[i].payload.clear();
            expected = Some(FlatInvariant::F9);
        }
        Some(Defect::NegativeOffset(n)) if !records.is_empty() => {
            let i = pick(n, records.len());
            records[i].offset = -2 - i64::from(n);
            expected = Some(FlatInvariant::F8);
        }
        Some(Defect::Overflow(n)) if !records.is_empty() => {
            let i = pick(n, records.len());
            // offset + size passes i64::MAX by 1..=8 bytes (the payload is never written).
            let below_max = i64::from(n % 8);
            records[i].offset = i64::MAX - below_max;
            records[i].size += below_max;
            expected = Some(FlatInvariant::F10);
        }
        _ => {}
    }
    let mut flat = crate::sink::flat_header_bytes().to_vec();
    for record in &records {
        flat.extend_from_slice(&record.offset.to_be_bytes());
        flat.extend_from_slice(&record.size.to_be_bytes());
        if record.size > 0 && record.offset >= 0 && record.offset.checked_add(record.size).is_some()
        {
            flat.extend_from_slice(&record.payload);
        }
    }
    let end_size: i64 = if matches!(sequence.defect, Some(Defect::BadEndMarker)) {
        0x7fff
    } else {
        -1
    };
    flat.extend_from_slice(&(-1i64).to_be_bytes());
    flat.extend_from_slice(&end_size.to_be_bytes());
    // The first defect in stream order decides the error; the record defects above come first.
    if expected.is_none() {
        expected = match sequence.defect {
            Some(Defect::BadEndMarker) => Some(FlatInvariant::F11),
            _ if records.is_empty() => Some(FlatInvariant::F13),
            Some(Defect::OffsetZeroUnwritten) => Some(FlatInvariant::F16),
            _ => None,
        };
    }
    match sequence.defect {
        Some(Defect::Trailing(n)) if expected.is_none() => {
            flat.extend(std::iter::repeat_n(n, usize::from(n) + 1));
            expected = Some(FlatInvariant::F12);
        }
        // A cut that leaves at least the header and one record header (shorter files break F1 first).
        Some(Defect::Truncate(n)) if expected.is_none() => {
            let cut = (usize::from(n) % (flat.len() - FLAT_HEADER_SIZE - RECORD_HEADER_SIZE)) + 1;
            flat.truncate(flat.len() - cut);
            expected = Some(FlatInvariant::F7);
        }
        _ => {}
    }
    (flat, expected)
}

/// Replays valid planned records into a byte vector: later records win, holes are zeros.
fn model(records: &[PlannedRecord]) -> Vec<u8> {
    let len = records
        .iter()
        .map(|r| (r.offset + r.size) as usize)
        .max()
        .unwrap_or(0);
    let mut bytes = vec![0u8; len];
    for record in records {
        let start = record.offset as usize;
        bytes[start..start + record.payload.len()].copy_from_slice(&record.payload);
    }
    bytes
}

/// Encodes `sequence`, reassembles it both ways and compares with the model and the expected invariant.
fn check_sequence(sequence: &RecordSequence) {
    let (flat, expected) = encode(sequence);
    let streamed = reassemble_to_memory(&flat);
    let indexed = FlatIndex::open(flat.as_slice());
    match expected {
        Some(invariant) => {
            match &streamed {
                Err(InMemoryReassemblyError::Invalid(found)) => {
                    assert_eq!(*found, invariant, "reassembly reported the wrong invariant")
                }
                other => panic!("reassembly of a stream breaking {invariant}: {other:?}"),
            }
            match &indexed {
                Err(ReadError::Format(e)) => {
                    assert_eq!(e.invariant(), invariant, "index reported: {e}")
                }
                Err(e) => panic!("index of a stream breaking {invariant}: I/O error {e}"),
                Ok(_) => panic!("the index accepted a stream breaking {invariant}"),
            }
        }
        None => {
            let expected_bytes = model(&plan(sequence));
            let streamed = streamed.expect("reassembly of a valid stream");
            assert!(
                streamed == expected_bytes,
                "reassembly differs from the model"
            );
            let index = indexed.expect("index of a valid stream");
            assert_eq!(index.len(), expected_bytes.len() as u64);
            let mut through_index = vec![0xA5u8; expected_bytes.len()];
            index
                .read_exact_at(0, &mut through_index)
                .expect("reading the whole index");
            assert!(
                through_index == expected_bytes,
                "index differs from the model"
            );
        }
    }
}

/// Reassembles `data` and indexes it; both must agree on acceptance and, when small, on every byte.
fn compare_on_stream(data: &[u8]) {
    let streamed = reassemble_to_memory(data);
    let indexed = FlatIndex::open(data);
    match (&streamed, &indexed) {
        (Ok(bytes), Ok(index)) => {
            if index.len() <= MAX_COMPARED_LEN {
                let mut through_index = vec![0xA5u8; index.len() as usize];
                index
                    .read_exact_at(0, &mut through_index)
                    .expect("reading the whole index");
                assert!(*bytes == through_index, "reassembly and index differ");
            }
        }
        (Err(InMemoryReassemblyError::TooLong(len)), Ok(index)) => assert_eq!(*len, index.len()),
        (Err(InMemoryReassemblyError::Invalid(a)), Err(ReadError::Format(b))) => {
            // Both reject; the index scans headers before payloads, so a truncation may be found first.
            let _ = (a, b);
        }
        (Err(InMemoryReassemblyError::Invalid(_)), Ok(_)) => {
            panic!("the index accepted what reassembly rejects")
        }
        (Err(InMemoryReassemblyError::TooLong(_)) | Ok(_), Err(e)) => {
            panic!("the index rejected what reassembly accepts: {e}")
        }
        (Err(InMemoryReassemblyError::Io(e)), _) => panic!("reassembly into memory failed: {e}"),
        (Err(InMemoryReassemblyError::Invalid(_)), Err(ReadError::Io(e))) => {
            panic!("index I/O error: {e}")
        }
    }
}

/// Why an in-memory reassembly produced no bytes.
#[derive(Debug)]
enum InMemoryReassemblyError {
    /// The stream breaks this invariant.
    Invalid(FlatInvariant),
    /// Valid, but too long to read back (sparse).
    TooLong(u64),
    /// Reading or writing failed.
    Io(String),
}

/// Reassembles `flat` into an anonymous in-memory file and reads the result back if it is small.
fn reassemble_to_memory(flat: &[u8]) -> Result<Vec<u8>, InMemoryReassemblyError> {
    let mut file = anonymous_file().map_err(|e| InMemoryReassemblyError::Io(e.to_string()))?;
    match reassemble(flat, &mut file, ReassembleOptions::default()) {
        Ok(summary) => {
            let len = file
                .metadata()
                .map_err(|e| InMemoryReassemblyError::Io(e.to_string()))?
                .len();
            assert_eq!(len, summary.output_len, "file length vs summary");
            if len > MAX_COMPARED_LEN {
                return Err(InMemoryReassemblyError::TooLong(len));
            }
            let mut bytes = vec![0u8; len as usize];
            FileExt::read_exact_at(&file, &mut bytes, 0)
                .map_err(|e| InMemoryReassemblyError::Io(e.to_string()))?;
            Ok(bytes)
        }
        Err(error) => match error.kind {
            ReassembleErrorKind::Invalid(e) => Err(InMemoryReassemblyError::Invalid(e.invariant())),
            other => Err(InMemoryReassemblyError::Io(other.to_string())),
        },
    }
}

/// An anonymous file in memory (`memfd_create`), or an unlinked temporary file where that is missing.
fn anonymous_file() -> std::io::Result<File> {
    use std::os::fd::FromRawFd;
    // SAFETY: the name is a valid NUL-terminated string; on success the descriptor is new and owned here.
    let fd = unsafe { libc::memfd_create(c"kdump-flat-fuzz".as_ptr(), libc::MFD_CLOEXEC) };
    if fd >= 0 {
        // SAFETY: `fd` is a freshly created descriptor that nothing else owns.
        return Ok(unsafe { File::from_raw_fd(fd) });
    }
    tempfile::tempfile()
}

#[cfg(test)]
mod tests {
    use crate::fuzzing::smoke::{behind_flat_header, random_bytes, SmokeLoop};

    #[test]
    fn smoke() {
        let smoke = SmokeLoop {
            target: "reassemble",
            seed: 7,
            rounds: 100,
        };
        smoke.run(super::run, |rng, _| {
            let data = random_bytes(rng, 1024);
            let flat = behind_flat_header(&data);
            vec![data, flat]
        });
    }
}
