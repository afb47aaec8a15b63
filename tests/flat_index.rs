//! The in-place index of a flattened dump against a sequential replay of its records into a `Vec`: every
//! read through the index equals the same read of the replayed file (proptest), plus the edges: windows of
//! the header scan, records past 4 GiB, reads past the end, invalid files, and `open_dump` detection.

use std::io::{self, Write};

use kdump_flat::flat::index::FlatIndex;
use kdump_flat::flat::{FlatInvariant, ParseMode, ReadError};
use kdump_flat::readat::ReadAt;
use kdump_flat::sink::{flat_header_bytes, DumpSink, FlatSink};
use kdump_flat::source::{open_dump, DumpForm, InvalidFlattenedDump};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

/// One generated write: where, how long, and a seed for its bytes.
#[derive(Debug, Clone)]
struct Write_ {
    offset: u64,
    len: usize,
    seed: u8,
}

fn payload(write: &Write_, index: usize) -> Vec<u8> {
    (0..write.len)
        .map(|k| write.seed ^ (index as u8).wrapping_mul(37) ^ (k as u8).wrapping_mul(3))
        .collect()
}

fn flatten(writes: &[Write_]) -> Vec<u8> {
    let mut sink = FlatSink::new(Vec::new());
    for (i, write) in writes.iter().enumerate() {
        sink.write_at(write.offset, &payload(write, i)).unwrap();
    }
    sink.finish().unwrap();
    sink.into_inner()
}

/// The reassembled file by sequential replay: each write copied over the previous ones, holes zero.
fn replay(writes: &[Write_]) -> Vec<u8> {
    let mut file = Vec::new();
    for (i, write) in writes.iter().enumerate() {
        let start = write.offset as usize;
        let end = start + write.len;
        if file.len() < end {
            file.resize(end, 0);
        }
        file[start..end].copy_from_slice(&payload(write, i));
    }
    file
}

fn write_strategy(max_offset: u64, max_len: usize) -> impl Strategy<Value = Write_> {
    (0..max_offset, 1..max_len, any::<u8>()).prop_map(|(offset, len, seed)| Write_ {
        offset,
        len,
        seed,
    })
}

/// Asserts that `index` and `expected` agree on the read of `len` bytes at `offset`.
fn assert_same_read(index: &impl ReadAt, expected: &Vec<u8>, offset: u64, len: usize) {
    let mut got = vec![0xAAu8; len];
    let mut want = vec![0xAAu8; len];
    let n_got = index.read_at(offset, &mut got).unwrap();
    let n_want = expected.read_at(offset, &mut want).unwrap();
    assert_eq!(n_got, n_want, "bytes read at {offset:#x} (len {len})");
    assert_eq!(
        got[..n_got],
        want[..n_want],
        "bytes at {offset:#x} (len {len})"
    );
    assert_eq!(
        index.read_exact_at(offset, &mut got).is_ok(),
        expected.read_exact_at(offset, &mut want).is_ok(),
        "read_exact_at at {offset:#x} (len {len})"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any record sequence (overlapping, backward, sparse): every read through the index equals the same
    /// read of the replayed file, and the index holds at most 32 bytes per record.
    #[test]
    fn every_read_equals_the_replayed_file(
        writes in prop::collection::vec(write_strategy(6000, 700), 1..60),
        reads in prop::collection::vec((0u64..7000, 0usize..3000), 1..40),
    ) {
        let flattened = flatten(&writes);
        let expected = replay(&writes);
        let index = FlatIndex::open_with_mode(flattened.as_slice(), ParseMode::Lenient).unwrap();
        prop_assert_eq!(index.len(), expected.len() as u64);
        prop_assert_eq!(index.size().unwrap(), expected.len() as u64);
        let stats = index.stats();
        prop_assert_eq!(stats.records, writes.len() as u64);
        prop_assert!(stats.extents <= 2 * stats.records, "{:?}", stats);
        prop_assert!(stats.memory_bytes <= 32 * stats.records, "{:?}", stats);
        // The whole file at once, then arbitrary reads, then byte by byte around every extent boundary.
        assert_same_read(&index, &expected, 0, expected.len() + 10);
        for (offset, len) in reads {
            assert_same_read(&index, &expected, offset, len);
        }
        for (start, _, _) in index.extents() {
            for offset in start.saturating_sub(2)..start + 2 {
                assert_same_read(&index, &expected, offset, 1);
                assert_same_read(&index, &expected, offset, 5);
            }
        }
        // Strict mode accepts the same file exactly when offset 0 is written (F16).
        let covers_zero = writes.iter().any(|w| w.offset == 0);
        prop_assert_eq!(FlatIndex::open(flattened.as_slice()).is_ok(), covers_zero);
    }

    /// Mostly ascending sequences with a few backward jumps (QEMU's shape: the index sets the few
    /// out-of-order records aside and merges them back instead of sorting everything).
    #[test]
    fn mostly_ascending_sequences(
        steps in prop::collection::vec((0u64..300, 1usize..300, any::<u8>(), 0u8..20), 1..80),
    ) {
        let mut offset = 0u64;
        let writes: Vec<Write_> = steps
            .iter()
            .map(|&(step, len, seed, dip)| {
                let write_offset = if dip == 0 { offset / 3 } else { offset };
                offset += step;
                Write_ { offset: write_offset, len, seed }
            })
            .collect();
        let flattened = flatten(&writes);
        let expected = replay(&writes);
        let index = FlatIndex::open(flattened.as_slice()).unwrap();
        prop_assert_eq!(index.len(), expected.len() as u64);
        assert_same_read(&index, &expected, 0, expected.len() + 3);
        for (start, _, _) in index.extents() {
            assert_same_read(&index, &expected, start.saturating_sub(1), 3);
        }
    }

    /// Records larger and smaller than the header scan's window, so that headers fall inside windows, at
    /// their edges and after payloads longer than a window.
    #[test]
    fn headers_across_scan_windows(
        writes in prop::collection::vec(write_strategy(3 << 20, 1 << 20), 1..12),
        reads in prop::collection::vec((0u64..(4 << 20), 0usize..100_000), 1..10),
    ) {
        let flattened = flatten(&writes);
        let expected = replay(&writes);
        let index = FlatIndex::open_with_mode(flattened.as_slice(), ParseMode::Lenient).unwrap();
        prop_assert_eq!(index.len(), expected.len() as u64);
        assert_same_read(&index, &expected, 0, expected.len());
        for (offset, len) in reads {
            assert_same_read(&index, &expected, offset, len);
        }
    }
}

/// Many small records whose headers straddle the 1 MiB scan windows at every possible alignment.
#[test]
fn small_records_straddling_scan_windows() {
    let writes: Vec<Write_> = (0..700)
        .map(|i| Write_ {
            offset: ((i * 7919) % 700) as u64 * 3001,
            len: 2990 + (i % 13),
            seed: i as u8,
        })
        .chain(std::iter::once(Write_ {
            offset: 0,
            len: 1,
            seed: 1,
        }))
        .collect();
    let flattened = flatten(&writes);
    assert!(flattened.len() > 2 << 20);
    let expected = replay(&writes);
    let index = FlatIndex::open(flattened.as_slice()).unwrap();
    assert!(index.stats().overlapping);
    assert_same_read(&index, &expected, 0, expected.len());
    for offset in (0..expected.len() as u64).step_by(4093) {
        assert_same_read(&index, &expected, offset, 4096);
    }
}

/// Records past 4 GiB leave a hole below them that reads as zeros; a read across the end is clipped.
#[test]
fn records_past_4_gib() {
    let high = 5u64 << 30;
    let mut sink = FlatSink::new(Vec::new());
    sink.write_at(0, b"head").unwrap();
    sink.write_at(high, b"far away").unwrap();
    sink.write_at(high + 4, b"AWAY").unwrap();
    sink.finish().unwrap();
    let flattened = sink.into_inner();
    let index = FlatIndex::open(flattened.as_slice()).unwrap();
    assert_eq!(index.len(), high + 8);
    let mut buf = [0xAAu8; 12];
    assert_eq!(index.read_at(high - 4, &mut buf).unwrap(), 12);
    assert_eq!(&buf, b"\0\0\0\0far AWAY");
    assert_eq!(index.read_at(high + 2, &mut buf).unwrap(), 6);
    assert_eq!(&buf[..6], b"r AWAY");
    assert_eq!(index.read_at(4 << 30, &mut buf).unwrap(), 12);
    assert_eq!(buf, [0u8; 12]);
    let extents: Vec<_> = index.extents().collect();
    assert_eq!(
        extents,
        [
            (0, 4, Some(4096 + 16)),
            (4, high - 4, None),
            (high, 4, Some(4096 + 16 + 4 + 16)),
            (high + 4, 4, Some(4096 + (16 + 4) + (16 + 8) + 16)),
        ]
    );
}

/// `read_at` at or after the reassembled length returns 0, as for a file; `read_exact_at` past it fails.
#[test]
fn reads_past_the_reassembled_length() {
    let writes = [Write_ {
        offset: 0,
        len: 100,
        seed: 9,
    }];
    let flattened = flatten(&writes);
    let index = FlatIndex::open(flattened.as_slice()).unwrap();
    let mut buf = [0u8; 10];
    assert_eq!(index.read_at(100, &mut buf).unwrap(), 0);
    assert_eq!(index.read_at(u64::MAX, &mut buf).unwrap(), 0);
    assert_eq!(index.read_at(95, &mut buf).unwrap(), 5);
    let error = index.read_exact_at(95, &mut buf).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    index.read_exact_at(90, &mut buf).unwrap();
}

fn record(offset: i64, size: i64) -> Vec<u8> {
    let mut bytes = offset.to_be_bytes().to_vec();
    bytes.extend_from_slice(&size.to_be_bytes());
    bytes
}

fn flat_file(parts: &[&[u8]]) -> Vec<u8> {
    let mut file = flat_header_bytes().to_vec();
    for part in parts {
        file.extend_from_slice(part);
    }
    file
}

fn strict_error(file: &[u8]) -> String {
    match FlatIndex::open(file) {
        Err(ReadError::Format(error)) => error.to_string(),
        Err(other) => panic!("expected a format error, got {other}"),
        Ok(_) => panic!("expected a format error, the index accepted the file"),
    }
}

/// Invalid files: one per invariant the index checks, each a typed error naming the invariant, the
/// record and the byte offset (messages under snapshot).
#[test]
fn invalid_files_are_typed_errors() {
    let end = record(-1, -1);
    let mut bad_signature = flat_file(&[&record(0, 1), b"x", &end]);
    bad_signature[3] = b'X';
    let mut bad_type = flat_file(&[&record(0, 1), b"x", &end]);
    bad_type[23] = 2;
    let cases: Vec<(&str, Vec<u8>, FlatInvariant)> = vec![
        (
            "short file",
            flat_header_bytes()[..100].to_vec(),
            FlatInvariant::F1,
        ),
        ("header only", flat_file(&[]), FlatInvariant::F1),
        ("bad signature", bad_signature, FlatInvariant::F2),
        ("bad type", bad_type, FlatInvariant::F4),
        (
            "truncated record header",
            flat_file(&[&record(0, 1), b"x", &end[..9]]),
            FlatInvariant::F7,
        ),
        (
            "truncated payload",
            flat_file(&[&record(0, 1), b"x", &record(8, 100), b"abc"]),
            FlatInvariant::F7,
        ),
        (
            "negative offset",
            flat_file(&[&record(-5, 1), b"x", &end]),
            FlatInvariant::F8,
        ),
        (
            "zero size",
            flat_file(&[&record(0, 1), b"x", &record(3, 0), &end]),
            FlatInvariant::F9,
        ),
        (
            "overflowing end",
            flat_file(&[&record(i64::MAX - 1, 5), b"abcde", &end]),
            FlatInvariant::F10,
        ),
        (
            "bad end marker",
            flat_file(&[&record(0, 1), b"x", &record(-1, 7)]),
            FlatInvariant::F11,
        ),
        (
            "bytes after the end marker",
            flat_file(&[&record(0, 1), b"x", &end, b"junk"]),
            FlatInvariant::F12,
        ),
        ("no records", flat_file(&[&end]), FlatInvariant::F13),
        (
            "offset 0 never written",
            flat_file(&[&record(10, 1), b"x", &end]),
            FlatInvariant::F16,
        ),
    ];
    let mut report = String::new();
    for (name, file, invariant) in &cases {
        match FlatIndex::open(file.as_slice()) {
            Err(ReadError::Format(error)) => assert_eq!(error.invariant(), *invariant, "{name}"),
            other => panic!("{name}: expected {invariant}, got {other:?}"),
        }
        report.push_str(&format!("{name}: {}\n", strict_error(file)));
    }
    insta::assert_snapshot!(report);
}

/// Lenient mode accepts what `makedumpfile -R` accepts and reports it as warnings.
#[test]
fn lenient_mode_reports_warnings() {
    let mut file = flat_file(&[
        &record(5, 0),
        &record(2, 3),
        b"abc",
        &record(-1, -1),
        b"trailing",
    ]);
    file[31] = 7; // version 7
    assert!(FlatIndex::open(file.as_slice()).is_err());
    let index = FlatIndex::open_with_mode(file.as_slice(), ParseMode::Lenient).unwrap();
    let mut buf = [0xAAu8; 6];
    assert_eq!(index.read_at(0, &mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"\0\0abc");
    let warnings: Vec<String> = index.warnings().iter().map(|w| w.to_string()).collect();
    insta::assert_snapshot!(warnings.join("\n"));
}

/// `open_dump` detects the flattened signature and reads through the index; other files are read as
/// they are; an invalid flattened file is an `InvalidData` error carrying the typed flattened error.
#[test]
fn open_dump_detects_the_flattened_form() {
    let dir = tempfile::tempdir().unwrap();
    let writes = [
        Write_ {
            offset: 4096,
            len: 5000,
            seed: 1,
        },
        Write_ {
            offset: 0,
            len: 464,
            seed: 2,
        },
        Write_ {
            offset: 5000,
            len: 10,
            seed: 3,
        },
    ];
    let flat_path = dir.path().join("vmcore.flat");
    std::fs::write(&flat_path, flatten(&writes)).unwrap();
    let raw_path = dir.path().join("vmcore");
    let expected = replay(&writes);
    std::fs::write(&raw_path, &expected).unwrap();

    let flat = open_dump(&flat_path).unwrap();
    assert_eq!(flat.form, DumpForm::Flattened);
    let raw = open_dump(&raw_path).unwrap();
    assert_eq!(raw.form, DumpForm::Raw);
    for source in [&flat.reader, &raw.reader] {
        assert_eq!(source.size().unwrap(), expected.len() as u64);
        let mut all = vec![0u8; expected.len()];
        source.read_exact_at(0, &mut all).unwrap();
        assert_eq!(all, expected);
    }

    let broken_path = dir.path().join("broken.flat");
    let mut broken = std::fs::File::create(&broken_path).unwrap();
    broken
        .write_all(&flat_file(&[&record(0, 10), b"short"]))
        .unwrap();
    drop(broken);
    let error = open_dump(&broken_path).err().expect("a truncated file");
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    let typed = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<InvalidFlattenedDump>())
        .expect("the typed error inside");
    assert_eq!(typed.error.invariant(), FlatInvariant::F7);
    assert_eq!(typed.error.record(), Some(0));
}

/// More records than one chunk of the scan's tables holds (16384), overlapping everywhere.
#[test]
fn many_records_across_table_chunks() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(55);
    let mut writes: Vec<Write_> = (0..40_000)
        .map(|i| Write_ {
            offset: rng.gen_range(0..100_000),
            len: rng.gen_range(1..40),
            seed: i as u8,
        })
        .collect();
    writes[0].offset = 0;
    let flattened = flatten(&writes);
    let expected = replay(&writes);
    let index = FlatIndex::open(flattened.as_slice()).unwrap();
    let stats = index.stats();
    assert_eq!(stats.records, 40_000);
    assert!(stats.memory_bytes <= 32 * stats.records, "{stats:?}");
    assert_same_read(&index, &expected, 0, expected.len());
    for offset in (0..expected.len() as u64).step_by(997) {
        assert_same_read(&index, &expected, offset, 3000);
    }
}
