//! Every invariant F1–F17 broken by at least one input, in strict and lenient mode, with the messages
//! under an insta snapshot. Expected ids come from docs/FORMATS.md §1 (which checks are warnings, and what
//! `makedumpfile -R` accepts, which the lenient mode must accept too).

use crate::support::flat::StreamBuilder;

use kdump_flat::flat::{
    scan_records, FlatInvariant, FlatInvariant::*, OverlapTracker, ParseMode, ReadError,
};

/// Outcome of a scan: the error's invariant (if any) and the invariants of the warnings.
fn outcome(stream: &[u8], mode: ParseMode) -> (Option<FlatInvariant>, Vec<FlatInvariant>, String) {
    match scan_records(stream, mode) {
        Ok(scan) => {
            let text: Vec<String> = scan
                .warnings
                .iter()
                .map(|w| format!("  warning {w}"))
                .collect();
            (
                None,
                scan.warnings.iter().map(|w| w.invariant()).collect(),
                format!(
                    "  ok, {} records{}",
                    scan.records.len(),
                    text.iter().map(|t| format!("\n{t}")).collect::<String>()
                ),
            )
        }
        Err(ReadError::Format(e)) => (Some(e.invariant()), vec![], format!("  error {e}")),
        Err(ReadError::Io(e)) => panic!("I/O error on a slice: {e}"),
    }
}

struct Case {
    name: &'static str,
    stream: Vec<u8>,
    strict_error: Option<FlatInvariant>,
    strict_warnings: &'static [FlatInvariant],
    lenient_error: Option<FlatInvariant>,
    lenient_warnings: &'static [FlatInvariant],
}

fn case(
    name: &'static str,
    stream: Vec<u8>,
    strict: (Option<FlatInvariant>, &'static [FlatInvariant]),
    lenient: (Option<FlatInvariant>, &'static [FlatInvariant]),
) -> Case {
    Case {
        name,
        stream,
        strict_error: strict.0,
        strict_warnings: strict.1,
        lenient_error: lenient.0,
        lenient_warnings: lenient.1,
    }
}

fn good() -> StreamBuilder {
    StreamBuilder::new().data(0, 8, 0xaa)
}

fn cases() -> Vec<Case> {
    let both = |e: FlatInvariant| ((Some(e), &[][..]), (Some(e), &[][..]));
    let mut cases = vec![
        {
            let (s, l) = both(F1);
            case("F1 stream shorter than the header", vec![0; 100], s, l)
        },
        {
            let (s, l) = both(F1);
            case(
                "F1 header and half an end marker",
                StreamBuilder::new().raw(&[0xff; 8]).build(),
                s,
                l,
            )
        },
        {
            let (s, l) = both(F2);
            case(
                "F2 wrong signature",
                good().end().patch(0, b"makedumpfilX").build(),
                s,
                l,
            )
        },
        {
            let (s, l) = both(F2);
            case(
                "F2 signature not NUL-terminated at byte 12",
                good().end().patch(12, b"!").build(),
                s,
                l,
            )
        },
        case(
            "F3 junk in signature bytes 13..16",
            good().end().patch(13, b"ab\x01").build(),
            (None, &[F3]),
            (None, &[F3]),
        ),
        {
            let (s, l) = both(F4);
            case(
                "F4 type 2",
                good().end().patch(16, &2i64.to_be_bytes()).build(),
                s,
                l,
            )
        },
        case(
            "F5 version 2",
            good().end().patch(24, &2i64.to_be_bytes()).build(),
            (Some(F5), &[]),
            (None, &[F5]),
        ),
        case(
            "F6 junk in the reserved header area",
            good().end().patch(100, b"x").patch(4095, b"y").build(),
            (None, &[F6]),
            (None, &[F6]),
        ),
        {
            let (s, l) = both(F7);
            case(
                "F7 payload truncated",
                StreamBuilder::new().record(0, 4096, &[1; 100]).build(),
                s,
                l,
            )
        },
        {
            let (s, l) = both(F7);
            case(
                "F7 record header truncated",
                good().raw(&[0; 5]).build(),
                s,
                l,
            )
        },
        {
            let (s, l) = both(F7);
            case("F7 end marker missing", good().build(), s, l)
        },
        {
            let (s, l) = both(F7);
            case(
                "F7 a 2^62-byte record (nothing of that size is allocated)",
                StreamBuilder::new().record(0, 1 << 62, &[7; 3]).build(),
                s,
                l,
            )
        },
        {
            let (s, l) = both(F8);
            case(
                "F8 negative offset",
                good().data(-4096, 4, 1).end().build(),
                s,
                l,
            )
        },
        {
            let (s, l) = both(F9);
            case(
                "F9 zero size after the first record",
                good().record(8, 0, &[]).end().build(),
                s,
                l,
            )
        },
        case(
            "F9 zero size of the first record (makedumpfile -R accepts it)",
            StreamBuilder::new()
                .record(0, 0, &[])
                .data(0, 4, 1)
                .end()
                .build(),
            (Some(F9), &[]),
            (None, &[F9]),
        ),
        {
            let (s, l) = both(F9);
            case(
                "F9 negative size",
                good().record(8, -3, &[]).end().build(),
                s,
                l,
            )
        },
        {
            let (s, l) = both(F10);
            case(
                "F10 offset + size overflows i64",
                good().record(i64::MAX - 1, 2, &[0, 0]).end().build(),
                s,
                l,
            )
        },
        {
            let (s, l) = both(F11);
            case(
                "F11 end marker with size 0",
                good().record(-1, 0, &[]).build(),
                s,
                l,
            )
        },
        case(
            "F12 bytes after the end marker",
            good().end().raw(b"trailing").build(),
            (Some(F12), &[]),
            (None, &[F12]),
        ),
        case(
            "F13 no record (makedumpfile -R hangs on it: an error in both modes)",
            StreamBuilder::new().end().build(),
            (Some(F13), &[]),
            (Some(F13), &[]),
        ),
        case(
            "F16 offset 0 never written",
            StreamBuilder::new().data(4096, 8, 1).end().build(),
            (Some(F16), &[]),
            (None, &[F16]),
        ),
        case(
            "F17 a record larger than 2^31-1 (then truncated: F7)",
            StreamBuilder::new().record(0, 1 << 31, &[0; 16]).build(),
            (Some(F7), &[]),
            (Some(F7), &[]),
        ),
    ];
    cases.push(case(
        "valid: overlapping and backward records",
        good().data(4096, 16, 2).data(4, 8, 3).end().build(),
        (None, &[]),
        (None, &[]),
    ));
    cases
}

#[test]
fn each_invariant_yields_its_specific_error_or_warning() {
    let mut report = String::new();
    for case in cases() {
        report.push_str(&format!("{}\n", case.name));
        for (mode, error, warnings) in [
            (ParseMode::Strict, case.strict_error, case.strict_warnings),
            (
                ParseMode::Lenient,
                case.lenient_error,
                case.lenient_warnings,
            ),
        ] {
            let (got_error, got_warnings, text) = outcome(&case.stream, mode);
            assert_eq!(got_error, error, "{} ({mode:?})", case.name);
            if error.is_none() {
                assert_eq!(got_warnings, warnings, "{} ({mode:?})", case.name);
            }
            report.push_str(&format!("{mode:?}:\n{text}\n"));
        }
    }
    insta::assert_snapshot!(report);
}

#[test]
fn f17_oversize_record_is_a_warning_before_the_payload() {
    use kdump_flat::flat::{FlatEvent, FlatReader};
    let stream = StreamBuilder::new().record(0, 1 << 31, &[0; 16]).build();
    let mut reader = FlatReader::new(&stream[..], ParseMode::Strict);
    let Ok(Some(FlatEvent::Record(record))) = reader.next_event() else {
        panic!("first event is not the record");
    };
    assert_eq!(record.size, 1 << 31);
    let warnings: Vec<String> = reader.warnings().iter().map(|w| w.to_string()).collect();
    assert_eq!(reader.warnings()[0].invariant(), F17);
    insta::assert_snapshot!(warnings.join("\n"));
}

#[test]
fn f14_overlaps_are_reported_with_the_records_overwritten() {
    let stream = StreamBuilder::new()
        .data(0, 4096, 1)
        .data(8192, 4096, 2)
        .data(2048, 8192, 3)
        .data(0, 16, 4)
        .end()
        .build();
    let scan = scan_records(&stream[..], ParseMode::Strict).expect("valid stream");
    let mut tracker = OverlapTracker::new();
    let findings: Vec<String> = scan
        .records
        .iter()
        .filter_map(|r| OverlapTracker::finding(r, &tracker.add(r)))
        .map(|w| {
            assert_eq!(w.invariant(), F14);
            w.to_string()
        })
        .collect();
    assert_eq!(findings.len(), 2);
    insta::assert_snapshot!(findings.join("\n"));
}
