//! Builders of flattened streams for the tests of the flattened format, written from the format definition
//! (docs/FORMATS.md §1).
#![allow(dead_code)]

use kdump_flat::sink::flat_header_bytes;

/// A flattened stream under construction, with every field under the test's control.
pub struct StreamBuilder {
    pub bytes: Vec<u8>,
}

impl StreamBuilder {
    /// A correct 4096-byte header.
    pub fn new() -> Self {
        StreamBuilder {
            bytes: flat_header_bytes().to_vec(),
        }
    }

    /// Overwrites header bytes at `at`.
    pub fn patch(mut self, at: usize, bytes: &[u8]) -> Self {
        self.bytes[at..at + bytes.len()].copy_from_slice(bytes);
        self
    }

    /// Appends a record header (offset, size) and `payload`.
    pub fn record(mut self, offset: i64, size: i64, payload: &[u8]) -> Self {
        self.bytes.extend_from_slice(&offset.to_be_bytes());
        self.bytes.extend_from_slice(&size.to_be_bytes());
        self.bytes.extend_from_slice(payload);
        self
    }

    /// Appends a complete record with a payload of `len` bytes of `fill`.
    pub fn data(self, offset: i64, len: usize, fill: u8) -> Self {
        self.record(offset, len as i64, &vec![fill; len])
    }

    /// Appends the end marker.
    pub fn end(mut self) -> Self {
        self.bytes.extend_from_slice(&[0xff; 16]);
        self
    }

    /// Appends arbitrary bytes.
    pub fn raw(mut self, bytes: &[u8]) -> Self {
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// The stream.
    pub fn build(self) -> Vec<u8> {
        self.bytes
    }
}

/// A reader that returns at most `max` bytes per `read`, in lengths drawn from a seeded generator
/// (1 byte per read when `max` = 1).
pub struct ShortReads<'a> {
    data: &'a [u8],
    max: usize,
    state: u64,
}

impl<'a> ShortReads<'a> {
    pub fn new(data: &'a [u8], max: usize, seed: u64) -> Self {
        ShortReads {
            data,
            max: max.max(1),
            state: seed | 1,
        }
    }
}

impl std::io::Read for ShortReads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // xorshift64: deterministic, independent of the crate under test
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let limit = 1 + (self.state % self.max as u64) as usize;
        let n = limit.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// The reassembled bytes of `(offset, payload)` writes as the format defines them: later writes win,
/// unwritten bytes are zero, the length is the largest end.
pub fn replay_writes(writes: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let len = writes
        .iter()
        .map(|(offset, data)| offset + data.len() as u64)
        .max()
        .unwrap_or(0);
    let mut bytes = vec![0u8; len as usize];
    for (offset, data) in writes {
        bytes[*offset as usize..*offset as usize + data.len()].copy_from_slice(data);
    }
    bytes
}
