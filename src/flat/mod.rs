//! makedumpfile's flattened format: a 4096-byte header, then records "seek to OFFSET, write these SIZE
//! bytes" (16-byte big-endian headers), then an end marker of 16 bytes of 0xFF. See FORMATS.md §1.

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
