//! Decoding of the 4096-byte file header and of the 16-byte record headers: the checks F1–F6 and
//! F8–F11 live here, shared by the streaming reader and the in-place index.

use super::error::{strict_error_or_warning, FlatError, FlatFinding, FlatInvariant, FlatWarning};
use super::{
    ParseMode, RecordHeader, END_MARKER, FLAT_HEADER_SIZE, FLAT_TYPE, FLAT_VERSION,
    RECORD_HEADER_SIZE,
};

/// Length of the signature that must match exactly (`makedumpfile` and its terminating NUL).
const SIGNATURE_CHECKED_LEN: usize = 13;
/// Largest record size `makedumpfile -R` handles (it counts in an `int`).
pub const MAKEDUMPFILE_MAX_RECORD_SIZE: u64 = i32::MAX as u64;

/// Checks the flattened file header (F1–F6) in the first 4096 bytes of `bytes` (more bytes are ignored).
///
/// F3 and F6 are warnings in both modes; F5 is a warning in [`ParseMode::Lenient`]. A slice shorter than
/// 4096 bytes is an F1 error.
pub fn parse_file_header(bytes: &[u8], mode: ParseMode) -> Result<Vec<FlatWarning>, FlatError> {
    use FlatInvariant::*;
    let mut warnings = Vec::new();
    let Some(header) = bytes.get(..FLAT_HEADER_SIZE) else {
        return Err(FlatError(FlatFinding::at(
            F1,
            0,
            format!(
                "the stream is {} bytes long, shorter than its {FLAT_HEADER_SIZE}-byte header",
                bytes.len()
            ),
        )));
    };
    if &header[..SIGNATURE_CHECKED_LEN] != b"makedumpfile\0" {
        return Err(FlatError(FlatFinding::at(
            F2,
            0,
            format!(
                "signature is {}, not \"makedumpfile\\x00\"",
                escape(&header[..SIGNATURE_CHECKED_LEN])
            ),
        )));
    }
    if header[SIGNATURE_CHECKED_LEN..16].iter().any(|&b| b != 0) {
        warnings.push(FlatWarning(FlatFinding::at(
            F3,
            SIGNATURE_CHECKED_LEN as u64,
            format!(
                "signature padding is {}, not zero (written by makedumpfile < 1.7.0)",
                escape(&header[SIGNATURE_CHECKED_LEN..16])
            ),
        )));
    }
    let header_type = be_i64(&header[16..24]);
    if header_type != FLAT_TYPE {
        return Err(FlatError(FlatFinding::at(
            F4,
            16,
            format!("type is {header_type}, not {FLAT_TYPE}"),
        )));
    }
    let version = be_i64(&header[24..32]);
    if version != FLAT_VERSION {
        strict_error_or_warning(
            mode,
            FlatFinding::at(F5, 24, format!("version is {version}, not {FLAT_VERSION}")),
            &mut warnings,
        )?;
    }
    if let Some(first) = header[32..].iter().position(|&b| b != 0) {
        let count = header[32..].iter().filter(|&&b| b != 0).count();
        warnings.push(FlatWarning(FlatFinding::at(
            F6,
            32 + first as u64,
            format!("{count} non-zero bytes in the reserved area 32..4096"),
        )));
    }
    Ok(warnings)
}

/// What a 16-byte record header announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOrEnd {
    /// A data record; its payload of `size` bytes follows the header.
    Record(RecordHeader),
    /// The end marker (-1, -1).
    End,
}

/// Decodes the record header `bytes` found at `position` of the flattened stream as record number `index`,
/// checking F8–F11 strictly (a zero size is an F9 error here; the lenient reader tolerates it for the
/// first record as `makedumpfile -R` does).
pub fn decode_record_header(
    bytes: &[u8; RECORD_HEADER_SIZE],
    index: u64,
    position: u64,
) -> Result<RecordOrEnd, FlatError> {
    use FlatInvariant::*;
    let offset = be_i64(&bytes[..8]);
    let size = be_i64(&bytes[8..]);
    let fail = |invariant, message: String| {
        Err(FlatError(FlatFinding::in_record(
            invariant, index, position, message,
        )))
    };
    if offset == END_MARKER && size == END_MARKER {
        return Ok(RecordOrEnd::End);
    }
    if offset == END_MARKER {
        return fail(
            F11,
            format!("offset -1 marks the end, but size is {size}, not -1"),
        );
    }
    if offset < 0 {
        return fail(F8, format!("offset {offset} is negative"));
    }
    if size <= 0 {
        return fail(F9, format!("size {size} is not positive"));
    }
    if offset.checked_add(size).is_none() {
        return fail(
            F10,
            format!("offset {offset:#x} + size {size:#x} overflows a signed 64-bit file offset"),
        );
    }
    Ok(RecordOrEnd::Record(RecordHeader {
        index,
        position,
        offset: offset as u64,
        size: size as u64,
    }))
}

/// [`decode_record_header`] plus the rules that depend on the mode, for every reader of record headers
/// (the streaming reader and the in-place index): in [`ParseMode::Lenient`] a zero-size FIRST record is
/// accepted as a record of size 0 with an F9 warning (`makedumpfile -R` accepts it; later ones it
/// rejects), and a record larger than 2^31-1 bytes gets an F17 warning in both modes.
pub fn decode_record_header_in_mode(
    bytes: &[u8; RECORD_HEADER_SIZE],
    index: u64,
    position: u64,
    mode: ParseMode,
    warnings: &mut Vec<FlatWarning>,
) -> Result<RecordOrEnd, FlatError> {
    let decoded = match decode_record_header(bytes, index, position) {
        Err(error)
            if mode == ParseMode::Lenient
                && index == 0
                && error.invariant() == FlatInvariant::F9
                && be_i64(&bytes[8..]) == 0 =>
        {
            warnings.push(FlatWarning(FlatFinding {
                message: format!(
                    "{} (accepted for the first record, as makedumpfile -R does)",
                    error.message()
                ),
                ..error.0
            }));
            RecordOrEnd::Record(RecordHeader {
                index,
                position,
                offset: be_i64(&bytes[..8]) as u64,
                size: 0,
            })
        }
        other => other?,
    };
    if let RecordOrEnd::Record(record) = &decoded {
        warnings.extend(oversize_warning(record));
    }
    Ok(decoded)
}

/// The F17 warning for a record larger than `makedumpfile -R` can copy, if it is one.
pub fn oversize_warning(record: &RecordHeader) -> Option<FlatWarning> {
    (record.size > MAKEDUMPFILE_MAX_RECORD_SIZE).then(|| {
        FlatWarning(FlatFinding::in_record(
            FlatInvariant::F17,
            record.index,
            record.position,
            format!(
                "size {:#x} exceeds 2^31-1, which makedumpfile -R cannot copy",
                record.size
            ),
        ))
    })
}

fn be_i64(bytes: &[u8]) -> i64 {
    let mut array = [0u8; 8];
    array.copy_from_slice(&bytes[..8]);
    i64::from_be_bytes(array)
}

fn escape(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::flat_header_bytes;

    fn record_bytes(offset: i64, size: i64) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&offset.to_be_bytes());
        bytes[8..].copy_from_slice(&size.to_be_bytes());
        bytes
    }

    #[test]
    fn a_written_header_parses_without_warnings() {
        assert_eq!(
            parse_file_header(&flat_header_bytes(), ParseMode::Strict),
            Ok(vec![])
        );
    }

    #[test]
    fn record_headers_are_checked_in_order() {
        let decode = |o, s| decode_record_header(&record_bytes(o, s), 3, 0x1010);
        assert_eq!(decode(-1, -1), Ok(RecordOrEnd::End));
        assert_eq!(decode(-1, 5).unwrap_err().invariant(), FlatInvariant::F11);
        assert_eq!(decode(-2, 5).unwrap_err().invariant(), FlatInvariant::F8);
        let zero = decode(0, 0).unwrap_err();
        assert_eq!(
            zero.to_string(),
            "F9: record 3 at offset 0x1010: size 0 is not positive"
        );
        assert_eq!(
            decode(i64::MAX, 1).unwrap_err().invariant(),
            FlatInvariant::F10
        );
        assert_eq!(
            decode(8, 4),
            Ok(RecordOrEnd::Record(RecordHeader {
                index: 3,
                position: 0x1010,
                offset: 8,
                size: 4
            }))
        );
    }
}
