//! Typed errors and warnings of the flattened-format parser, each naming the invariant (F1–F17 of
//! docs/FORMATS.md §1), the byte offset in the flattened stream and, where one applies, the record index.

use std::fmt;

/// The invariants of the flattened format (docs/FORMATS.md §1). `Display` prints the id, e.g. `F7`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum FlatInvariant {
    /// File length ≥ 4096 + 16.
    F1,
    /// Bytes 0..13 are `makedumpfile\0`.
    F2,
    /// Bytes 13..16 are zero (warning only: pre-1.7.0 files).
    F3,
    /// Type = 1.
    F4,
    /// Version = 1.
    F5,
    /// Bytes 32..4096 are zero (warning).
    F6,
    /// Records start at 4096; each header and payload is fully present.
    F7,
    /// A data record's offset is ≥ 0.
    F8,
    /// A data record's size is > 0.
    F9,
    /// offset + size does not overflow i64.
    F10,
    /// The end marker is exactly (-1, -1).
    F11,
    /// Nothing follows the end marker.
    F12,
    /// At least one record.
    F13,
    /// Overlaps are resolved last-writer-wins (reported, never an error).
    F14,
    /// Holes read as zero; reassembled length = max(offset + size).
    F15,
    /// Offset 0 is covered by some record.
    F16,
    /// size ≤ 2^31 - 1 (`makedumpfile -R` counts in an `int`): warning.
    F17,
}

impl fmt::Display for FlatInvariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// How strictly to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParseMode {
    /// Every invariant except F3, F6 and F17 (warnings) is an error.
    #[default]
    Strict,
    /// Accept what `makedumpfile -R` accepts (junk in signature bytes 13..15, version ≠ 1, bytes after the
    /// end marker, a zero-size first record, offset 0 never written), reporting warnings.
    Lenient,
}

/// Where a finding is: the byte offset in the flattened stream and the record it belongs to, if any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlatFinding {
    /// The invariant concerned.
    pub invariant: FlatInvariant,
    /// Byte offset in the flattened stream (of the header field or record header concerned).
    pub offset: u64,
    /// Index of the record concerned (from 0), if any.
    pub record: Option<u64>,
    /// Human-readable explanation.
    pub message: String,
}

impl FlatFinding {
    /// A finding about the file header or the stream as a whole.
    pub fn at(invariant: FlatInvariant, offset: u64, message: impl Into<String>) -> Self {
        FlatFinding {
            invariant,
            offset,
            record: None,
            message: message.into(),
        }
    }

    /// A finding about record `record` whose header is at `offset`.
    pub fn in_record(
        invariant: FlatInvariant,
        record: u64,
        offset: u64,
        message: impl Into<String>,
    ) -> Self {
        FlatFinding {
            invariant,
            offset,
            record: Some(record),
            message: message.into(),
        }
    }
}

impl fmt::Display for FlatFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record {
            Some(record) => write!(
                f,
                "{}: record {} at offset {:#x}: {}",
                self.invariant, record, self.offset, self.message
            ),
            None => write!(
                f,
                "{}: at offset {:#x}: {}",
                self.invariant, self.offset, self.message
            ),
        }
    }
}

/// A violated invariant that makes the input unusable (in the chosen [`ParseMode`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{0}")]
pub struct FlatError(pub FlatFinding);

impl FlatError {
    /// The invariant violated.
    pub fn invariant(&self) -> FlatInvariant {
        self.0.invariant
    }

    /// Byte offset in the flattened stream.
    pub fn offset(&self) -> u64 {
        self.0.offset
    }

    /// Index of the record concerned, if any.
    pub fn record(&self) -> Option<u64> {
        self.0.record
    }

    /// The human-readable explanation (without id and location).
    pub fn message(&self) -> &str {
        &self.0.message
    }
}

/// A violated invariant that the parser tolerates (F3, F6, F17 always; more in lenient mode).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlatWarning(pub FlatFinding);

impl FlatWarning {
    /// The invariant violated.
    pub fn invariant(&self) -> FlatInvariant {
        self.0.invariant
    }
}

impl fmt::Display for FlatWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Reports a finding as an error in strict mode and pushes it as a warning in lenient mode.
pub(crate) fn strict_error_or_warning(
    mode: ParseMode,
    finding: FlatFinding,
    warnings: &mut Vec<FlatWarning>,
) -> Result<(), FlatError> {
    match mode {
        ParseMode::Strict => Err(FlatError(finding)),
        ParseMode::Lenient => {
            warnings.push(FlatWarning(finding));
            Ok(())
        }
    }
}

/// An error of a streaming parse: the input is invalid, or reading it failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The stream violates an invariant.
    #[error(transparent)]
    Format(#[from] FlatError),
    /// Reading the stream failed.
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
}
