//! makedumpfile's flattened format: a 4096-byte header, then records "seek to OFFSET, write these SIZE
//! bytes" (16-byte big-endian headers), then an end marker of 16 bytes of 0xFF. See docs/FORMATS.md §1.

/// Size of the flattened header (`MAX_SIZE_MDF_HEADER`).
pub const FLAT_HEADER_SIZE: usize = 4096;
/// Signature bytes written by makedumpfile ≥ 1.7.0 and QEMU: "makedumpfile" and NUL padding to 16 bytes.
pub const FLAT_SIGNATURE: &[u8; 16] = b"makedumpfile\0\0\0\0";
/// `TYPE_FLAT_HEADER`.
pub const FLAT_TYPE: i64 = 1;
/// `VERSION_FLAT_HEADER`.
pub const FLAT_VERSION: i64 = 1;
/// Size of a record header: offset and size, both big-endian i64.
pub const RECORD_HEADER_SIZE: usize = 16;
/// The end-marker value of both record header fields.
pub const END_MARKER: i64 = -1;

/// One data record of a flattened stream, as a parser found it (no payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RecordHeader {
    /// Index of the record in the stream, from 0.
    pub index: u64,
    /// Position of the record's 16-byte header in the flattened file (its payload follows it).
    pub position: u64,
    /// Offset in the reassembled file where the payload goes.
    pub offset: u64,
    /// Payload length in bytes.
    pub size: u64,
}

impl RecordHeader {
    /// Position of the payload in the flattened file.
    pub fn payload_position(&self) -> u64 {
        self.position + RECORD_HEADER_SIZE as u64
    }

    /// End of the payload's range in the reassembled file.
    pub fn end(&self) -> u64 {
        self.offset + self.size
    }
}

mod error;
mod gather;
mod header;
pub mod index;
mod overlaps;
mod pipeline;
mod reader;
mod reassemble;
mod segment_write;

pub use error::{FlatError, FlatFinding, FlatInvariant, FlatWarning, ParseMode, ReadError};
pub use header::{
    decode_record_header, decode_record_header_in_mode, oversize_warning, parse_file_header,
    RecordOrEnd, MAKEDUMPFILE_MAX_RECORD_SIZE,
};
pub use overlaps::OverlapTracker;
pub use reader::{
    scan_records, BufferedEvent, FlatEvent, FlatReader, RecordScan, DEFAULT_CHUNK_SIZE,
};
pub use reassemble::{
    reassemble, reassemble_file, ReassembleError, ReassembleErrorKind, ReassembleOptions,
    ReassembleSummary,
};
