//! The streaming reader's results do not depend on how the input arrives: whole, one byte per read, or in
//! random short reads, and whatever the chunk size, it yields the same records, payload bytes, warnings and
//! error. Inputs: valid streams with overlaps and backward records, and the same streams cut or corrupted.

use crate::support::flat::{ShortReads, StreamBuilder};

use kdump_flat::flat::{BufferedEvent, FlatEvent, FlatReader, ParseMode, RecordHeader};
use proptest::prelude::*;

/// Everything observable of a parse, with payloads concatenated per record.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    records: Vec<(RecordHeader, Vec<u8>)>,
    ended: bool,
    warnings: Vec<String>,
    error: Option<String>,
    position: u64,
}

fn observe(input: impl std::io::Read, mode: ParseMode, chunk_size: usize) -> Observed {
    observe_reader(
        FlatReader::with_chunk_size(input, mode, chunk_size),
        chunk_size,
    )
}

fn observe_reader<R: std::io::Read>(mut reader: FlatReader<R>, chunk_size: usize) -> Observed {
    let mut records: Vec<(RecordHeader, Vec<u8>)> = Vec::new();
    let mut ended = false;
    let error = loop {
        match reader.next_event() {
            Ok(None) => break None,
            Ok(Some(FlatEvent::Record(record))) => records.push((record, Vec::new())),
            Ok(Some(FlatEvent::Data {
                record,
                offset,
                bytes,
            })) => {
                assert!(
                    bytes.len() <= chunk_size,
                    "chunk larger than the chunk size"
                );
                let (current, payload) = records.last_mut().expect("data before a record");
                assert_eq!(*current, record);
                assert_eq!(offset, record.offset + payload.len() as u64);
                payload.extend_from_slice(bytes);
            }
            Ok(Some(FlatEvent::End)) => ended = true,
            Err(e) => break Some(e.to_string()),
        }
    };
    Observed {
        records,
        ended,
        warnings: reader.warnings().iter().map(|w| w.to_string()).collect(),
        error,
        position: reader.position(),
    }
}

/// The same, through `next_buffered_event`, gathering payload ranges while reading is not allowed and
/// copying them out only at `NeedInput` (as the reassembler does).
fn observe_buffered(input: impl std::io::Read, mode: ParseMode, chunk_size: usize) -> Observed {
    let mut reader = FlatReader::with_chunk_size(input, mode, chunk_size);
    let mut records: Vec<(RecordHeader, Vec<u8>)> = Vec::new();
    let mut pending: Vec<std::ops::Range<usize>> = Vec::new();
    let mut ended = false;
    let error = loop {
        match reader.next_buffered_event(pending.is_empty()) {
            Ok(None) => break None,
            Ok(Some(BufferedEvent::Record(record))) => {
                for range in pending.drain(..) {
                    let bytes = reader.buffer()[range].to_vec();
                    records
                        .last_mut()
                        .expect("data before a record")
                        .1
                        .extend(bytes);
                }
                records.push((record, Vec::new()));
            }
            Ok(Some(BufferedEvent::Data { range, .. })) => pending.push(range),
            Ok(Some(BufferedEvent::NeedInput)) => {
                for range in pending.drain(..) {
                    let bytes = reader.buffer()[range].to_vec();
                    records
                        .last_mut()
                        .expect("data before a record")
                        .1
                        .extend(bytes);
                }
            }
            Ok(Some(BufferedEvent::End)) => ended = true,
            Err(e) => break Some(e.to_string()),
        }
    };
    for range in pending.drain(..) {
        let bytes = reader.buffer()[range].to_vec();
        records
            .last_mut()
            .expect("data before a record")
            .1
            .extend(bytes);
    }
    Observed {
        records,
        ended,
        warnings: reader.warnings().iter().map(|w| w.to_string()).collect(),
        error,
        position: reader.position(),
    }
}

fn stream_strategy() -> impl Strategy<Value = Vec<u8>> {
    let record = (0u64..20_000, 1usize..3000, any::<u8>());
    (
        prop::collection::vec(record, 0..12),
        prop::option::of(0usize..40_000),
        prop::option::of((0usize..40_000, any::<u8>())),
        any::<bool>(),
    )
        .prop_map(|(records, cut, corrupt, trailing)| {
            let mut builder = StreamBuilder::new();
            for (offset, len, fill) in records {
                builder = builder.data(offset as i64, len, fill);
            }
            let mut bytes = builder.end().build();
            if trailing {
                bytes.extend_from_slice(b"junk");
            }
            if let Some((at, value)) = corrupt {
                let at = at % bytes.len();
                bytes[at] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.min(bytes.len()));
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn results_do_not_depend_on_how_the_input_arrives(
        stream in stream_strategy(),
        seed in any::<u64>(),
        lenient in any::<bool>(),
    ) {
        let mode = if lenient { ParseMode::Lenient } else { ParseMode::Strict };
        let whole = observe(&stream[..], mode, 1 << 20);
        prop_assert_eq!(&observe(ShortReads::new(&stream, 1, seed), mode, 1 << 20), &whole);
        prop_assert_eq!(&observe(ShortReads::new(&stream, 7000, seed), mode, 1 << 20), &whole);
        prop_assert_eq!(&observe(ShortReads::new(&stream, 300, seed), mode, 17), &whole);
        prop_assert_eq!(&observe(&stream[..], mode, 1), &whole);
        prop_assert_eq!(&observe_buffered(&stream[..], mode, 1 << 20), &whole);
        prop_assert_eq!(&observe_buffered(ShortReads::new(&stream, 5000, seed), mode, 4096), &whole);
        prop_assert_eq!(&observe_buffered(ShortReads::new(&stream, 3, seed), mode, 100), &whole);
    }
}

#[test]
fn payloads_and_records_match_what_was_written() {
    let stream = StreamBuilder::new()
        .data(4096, 5000, 1)
        .data(0, 10, 2)
        .data(100, 3, 3)
        .end()
        .build();
    let observed = observe(ShortReads::new(&stream, 1, 42), ParseMode::Strict, 64);
    assert_eq!(observed.error, None);
    assert!(observed.ended);
    let summary: Vec<(u64, u64, u64, u64, Vec<u8>)> = observed
        .records
        .iter()
        .map(|(r, p)| (r.index, r.position, r.offset, r.size, p[..1].to_vec()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, 4096, 4096, 5000, vec![1]),
            (1, 4096 + 16 + 5000, 0, 10, vec![2]),
            (2, 4096 + 32 + 5010, 100, 3, vec![3]),
        ]
    );
    assert_eq!(observed.position, stream.len() as u64);
}

#[test]
fn a_2_pow_62_record_on_an_endless_stream_reads_in_bounded_chunks() {
    // 64 MiB of zeros after a header announcing 2^62 bytes: the reader streams them in 1 MiB chunks and
    // then reports the truncation; it never allocates anything sized by the field.
    use std::io::Read;
    let header = StreamBuilder::new().record(0, 1 << 62, &[]).build();
    let input = header.as_slice().chain(std::io::repeat(0).take(64 << 20));
    let mut reader = FlatReader::new(input, ParseMode::Strict);
    let mut largest_chunk = 0;
    let error = loop {
        match reader.next_event() {
            Ok(Some(FlatEvent::Data { bytes, .. })) => {
                largest_chunk = largest_chunk.max(bytes.len())
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("accepted a truncated stream"),
            Err(e) => break e.to_string(),
        }
    };
    assert!(largest_chunk <= 1 << 20);
    let (size, present) = (1u64 << 62, 64u64 << 20);
    assert_eq!(
        error,
        format!(
            "F7: record 0 at offset 0x1000: payload truncated: {present} of {size} bytes present, {} missing",
            size - present
        )
    );
}
