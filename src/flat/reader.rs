//! A streaming reader of flattened dumps over any [`Read`] (files, pipes, sockets).
//!
//! Memory is bounded by one fixed buffer whatever the size fields say: payloads are delivered in chunks of
//! at most `chunk_size` bytes, so a record claiming 2^62 bytes allocates nothing of that size (it fails
//! with F7 when the stream ends early). The events do not depend on how the input arrives: a stream read
//! whole, one byte per `read` or in random short reads yields the same records, the same payload bytes
//! (possibly cut into different chunks), the same warnings and the same error.

use std::io::{self, Read};

use super::error::{
    strict_error_or_warning, FlatError, FlatFinding, FlatInvariant, FlatWarning, ParseMode,
    ReadError,
};
use super::header::{decode_record_header_in_mode, parse_file_header, RecordOrEnd};
use super::{RecordHeader, FLAT_HEADER_SIZE, RECORD_HEADER_SIZE};

/// Default maximum payload chunk delivered by [`FlatReader`]: 1 MiB.
pub const DEFAULT_CHUNK_SIZE: usize = 1 << 20;

/// The smallest possible flattened stream: header and end marker.
const MIN_STREAM_LEN: u64 = (FLAT_HEADER_SIZE + RECORD_HEADER_SIZE) as u64;

/// One step of a flattened stream.
#[derive(Debug, PartialEq, Eq)]
pub enum FlatEvent<'a> {
    /// A record header; its payload follows as [`FlatEvent::Data`] events (none if the size is 0, which
    /// only the lenient mode lets through, for the first record).
    Record(RecordHeader),
    /// A piece of the current record's payload, to be written at `offset` of the reassembled dump.
    Data {
        /// The record this payload belongs to.
        record: RecordHeader,
        /// Offset in the reassembled dump of `bytes[0]`.
        offset: u64,
        /// The payload bytes (at most the chunk size).
        bytes: &'a [u8],
    },
    /// The end marker; the stream has been checked completely (F12, F13, F16).
    End,
}

enum State {
    FileHeader,
    RecordHeader,
    Payload {
        record: RecordHeader,
        remaining: u64,
    },
    Finished,
}

/// Streaming parser of a flattened stream. Call [`FlatReader::next_event`] until it returns `Ok(None)`.
pub struct FlatReader<R: Read> {
    input: R,
    mode: ParseMode,
    chunk_size: usize,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    position: u64,
    state: State,
    next_index: u64,
    records: u64,
    offset_zero_covered: bool,
    warnings: Vec<FlatWarning>,
}

impl<R: Read> FlatReader<R> {
    /// A reader delivering payload chunks of at most [`DEFAULT_CHUNK_SIZE`] bytes.
    pub fn new(input: R, mode: ParseMode) -> Self {
        Self::with_chunk_size(input, mode, DEFAULT_CHUNK_SIZE)
    }

    /// A reader delivering payload chunks of at most `chunk_size` bytes (at least 1). Its buffer holds
    /// `max(chunk_size, 4096)` bytes.
    pub fn with_chunk_size(input: R, mode: ParseMode, chunk_size: usize) -> Self {
        let chunk_size = chunk_size.max(1);
        FlatReader {
            input,
            mode,
            chunk_size,
            buffer: vec![0u8; chunk_size.max(FLAT_HEADER_SIZE)].into_boxed_slice(),
            start: 0,
            end: 0,
            position: 0,
            state: State::FileHeader,
            next_index: 0,
            records: 0,
            offset_zero_covered: false,
            warnings: Vec::new(),
        }
    }

    /// Warnings found so far (F3, F6, F17; in lenient mode also F5, F9, F12, F16).
    pub fn warnings(&self) -> &[FlatWarning] {
        &self.warnings
    }

    /// Takes the warnings found so far.
    pub fn take_warnings(&mut self) -> Vec<FlatWarning> {
        std::mem::take(&mut self.warnings)
    }

    /// Bytes of the stream consumed so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Number of data records seen so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The next event, `Ok(None)` after [`FlatEvent::End`] or after an error.
    pub fn next_event(&mut self) -> Result<Option<FlatEvent<'_>>, ReadError> {
        match self.next_buffered_event(true)? {
            None => Ok(None),
            Some(BufferedEvent::Record(record)) => Ok(Some(FlatEvent::Record(record))),
            Some(BufferedEvent::Data {
                record,
                offset,
                range,
            }) => Ok(Some(FlatEvent::Data {
                record,
                offset,
                bytes: &self.buffer[range],
            })),
            Some(BufferedEvent::End) => Ok(Some(FlatEvent::End)),
            Some(BufferedEvent::NeedInput) => unreachable!("reading was allowed"),
        }
    }

    /// Like [`FlatReader::next_event`], but payloads are ranges of [`FlatReader::buffer`], and with
    /// `may_read` false the input is not read (nor the buffer moved): the step that would need more input
    /// returns [`BufferedEvent::NeedInput`] instead. So a caller can gather many payload ranges and write
    /// them straight from the buffer (one `pwritev`) before allowing the next read. The same events as
    /// `next_event`, in the same order.
    pub fn next_buffered_event(
        &mut self,
        may_read: bool,
    ) -> Result<Option<BufferedEvent>, ReadError> {
        let result = self.advance(may_read);
        if result.is_err() {
            self.state = State::Finished;
        }
        Ok(match result? {
            Step::Record(record) => Some(BufferedEvent::Record(record)),
            Step::Data {
                record,
                offset,
                len,
            } => Some(BufferedEvent::Data {
                record,
                offset,
                range: self.start - len..self.start,
            }),
            Step::End => Some(BufferedEvent::End),
            Step::NeedInput => Some(BufferedEvent::NeedInput),
            Step::Done => None,
        })
    }

    /// The reader's buffer, which the ranges of [`BufferedEvent::Data`] index into.
    pub fn buffer(&self) -> &[u8] {
        &self.buffer
    }

    /// Hands over the buffer, whose [`BufferedEvent::Data`] ranges delivered so far stay valid in it, and
    /// continues with `fresh`: the bytes read but not consumed yet are moved into it (at most a buffer's
    /// length, fewer than 16 bytes when the reader has just asked for input). `fresh` is replaced by a
    /// buffer of the reader's length if it is shorter.
    pub(super) fn replace_buffer(&mut self, mut fresh: Box<[u8]>) -> Box<[u8]> {
        if fresh.len() < self.buffer.len() {
            fresh = vec![0u8; self.buffer.len()].into_boxed_slice();
        }
        let unconsumed = self.end - self.start;
        fresh[..unconsumed].copy_from_slice(&self.buffer[self.start..self.end]);
        self.start = 0;
        self.end = unconsumed;
        std::mem::replace(&mut self.buffer, fresh)
    }

    fn advance(&mut self, may_read: bool) -> Result<Step, ReadError> {
        loop {
            let available = self.end - self.start;
            match self.state {
                State::FileHeader if !may_read => return Ok(Step::NeedInput),
                State::FileHeader => self.read_file_header()?,
                State::RecordHeader if !may_read => {
                    // the end marker is read with reading allowed: its checks read the trailing bytes
                    let header = &self.buffer[self.start..self.end];
                    if available < RECORD_HEADER_SIZE || header[..RECORD_HEADER_SIZE] == [0xff; 16]
                    {
                        return Ok(Step::NeedInput);
                    }
                    return self.read_record_header();
                }
                State::RecordHeader => return self.read_record_header(),
                State::Payload { remaining: 0, .. } => self.state = State::RecordHeader,
                State::Payload { .. } if !may_read && available == 0 => return Ok(Step::NeedInput),
                State::Payload { record, remaining } => {
                    return self.read_payload(record, remaining)
                }
                State::Finished => return Ok(Step::Done),
            }
        }
    }

    fn read_file_header(&mut self) -> Result<(), ReadError> {
        let available = self.fill_at_least(FLAT_HEADER_SIZE)?;
        if available < FLAT_HEADER_SIZE {
            return Err(FlatError(FlatFinding::at(
                FlatInvariant::F1,
                0,
                format!(
                    "the stream is {available} bytes long, shorter than header and end marker ({MIN_STREAM_LEN})"
                ),
            ))
            .into());
        }
        let header = &self.buffer[self.start..self.start + FLAT_HEADER_SIZE];
        let warnings = parse_file_header(header, self.mode)?;
        self.warnings.extend(warnings);
        self.consume(FLAT_HEADER_SIZE);
        self.state = State::RecordHeader;
        Ok(())
    }

    fn read_record_header(&mut self) -> Result<Step, ReadError> {
        let index = self.next_index;
        let position = self.position;
        let available = self.fill_at_least(RECORD_HEADER_SIZE)?;
        if available < RECORD_HEADER_SIZE {
            let stream_len = position + available as u64;
            let finding = if stream_len < MIN_STREAM_LEN {
                FlatFinding::at(
                    FlatInvariant::F1,
                    0,
                    format!(
                        "the stream is {stream_len} bytes long, shorter than header and end marker ({MIN_STREAM_LEN})"
                    ),
                )
            } else if available == 0 {
                FlatFinding::in_record(
                    FlatInvariant::F7,
                    index,
                    position,
                    "the stream ends here without an end marker (16 bytes missing)",
                )
            } else {
                FlatFinding::in_record(
                    FlatInvariant::F7,
                    index,
                    position,
                    format!(
                        "record header truncated: {available} of 16 bytes present, {} missing",
                        RECORD_HEADER_SIZE - available
                    ),
                )
            };
            return Err(FlatError(finding).into());
        }
        let mut header = [0u8; RECORD_HEADER_SIZE];
        header.copy_from_slice(&self.buffer[self.start..self.start + RECORD_HEADER_SIZE]);
        let decoded =
            decode_record_header_in_mode(&header, index, position, self.mode, &mut self.warnings)?;
        self.consume(RECORD_HEADER_SIZE);
        match decoded {
            RecordOrEnd::Record(record) => {
                self.next_index += 1;
                self.records += 1;
                if record.offset == 0 && record.size > 0 {
                    self.offset_zero_covered = true;
                }
                self.state = State::Payload {
                    record,
                    remaining: record.size,
                };
                Ok(Step::Record(record))
            }
            RecordOrEnd::End => {
                self.check_end(position)?;
                self.state = State::Finished;
                Ok(Step::End)
            }
        }
    }

    fn check_end(&mut self, marker_position: u64) -> Result<(), ReadError> {
        use FlatInvariant::*;
        let after_marker = self.position;
        if self.records == 0 {
            // an error in both modes: makedumpfile -R 1.7.2 never finishes on such a stream (measured)
            return Err(FlatError(FlatFinding::at(
                F13,
                marker_position,
                "the stream has no data record",
            ))
            .into());
        } else if !self.offset_zero_covered {
            strict_error_or_warning(
                self.mode,
                FlatFinding::at(
                    F16,
                    marker_position,
                    "no record writes offset 0 of the dump",
                ),
                &mut self.warnings,
            )?;
        }
        let mut trailing = 0u64;
        loop {
            let available = self.fill_at_least(1)?;
            if available == 0 {
                break;
            }
            trailing += available as u64;
            self.consume(available);
        }
        if trailing > 0 {
            strict_error_or_warning(
                self.mode,
                FlatFinding::at(
                    F12,
                    after_marker,
                    format!("{trailing} bytes follow the end marker"),
                ),
                &mut self.warnings,
            )?;
        }
        Ok(())
    }

    fn read_payload(&mut self, record: RecordHeader, remaining: u64) -> Result<Step, ReadError> {
        let available = self.fill_at_least(1)?;
        if available == 0 {
            let present = record.size - remaining;
            return Err(FlatError(FlatFinding::in_record(
                FlatInvariant::F7,
                record.index,
                record.position,
                format!(
                    "payload truncated: {present} of {} bytes present, {remaining} missing",
                    record.size
                ),
            ))
            .into());
        }
        let len = (available.min(self.chunk_size) as u64).min(remaining) as usize;
        let offset = record.offset + (record.size - remaining);
        self.consume(len);
        self.state = State::Payload {
            record,
            remaining: remaining - len as u64,
        };
        Ok(Step::Data {
            record,
            offset,
            len,
        })
    }

    fn consume(&mut self, len: usize) {
        self.start += len;
        self.position += len as u64;
    }

    /// Makes at least `wanted` bytes available in the buffer unless the stream ends first; returns how many
    /// are available (fewer than `wanted` only at the end of the stream). `wanted` ≤ buffer length.
    fn fill_at_least(&mut self, wanted: usize) -> io::Result<usize> {
        if self.end - self.start >= wanted {
            return Ok(self.end - self.start);
        }
        let buffer = &mut self.buffer;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if buffer.len() - self.start < wanted {
            buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < wanted {
            match self.input.read(&mut buffer[self.end..]) {
                Ok(0) => break,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start)
    }
}

enum Step {
    Record(RecordHeader),
    Data {
        record: RecordHeader,
        offset: u64,
        len: usize,
    },
    End,
    NeedInput,
    Done,
}

/// One step of a flattened stream, payloads given as ranges of [`FlatReader::buffer`]
/// (see [`FlatReader::next_buffered_event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BufferedEvent {
    /// A record header.
    Record(RecordHeader),
    /// A piece of the current record's payload: `buffer()[range]`, to be written at `offset`.
    Data {
        /// The record this payload belongs to.
        record: RecordHeader,
        /// Offset in the reassembled dump of the first byte.
        offset: u64,
        /// Where the bytes are in the reader's buffer (valid until input is read again).
        range: std::ops::Range<usize>,
    },
    /// The end marker; the stream has been checked completely.
    End,
    /// The next step needs more input, which `may_read = false` forbade.
    NeedInput,
}

/// The records of a flattened stream, without payloads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordScan {
    /// Every data record, in stream order.
    pub records: Vec<RecordHeader>,
    /// Warnings found.
    pub warnings: Vec<FlatWarning>,
    /// Length of the stream in bytes.
    pub stream_len: u64,
}

/// Reads a whole flattened stream and returns its record headers (memory grows with the record count,
/// not with the payload sizes).
pub fn scan_records(input: impl Read, mode: ParseMode) -> Result<RecordScan, ReadError> {
    let mut reader = FlatReader::new(input, mode);
    let mut records = Vec::new();
    while let Some(event) = reader.next_event()? {
        if let FlatEvent::Record(record) = event {
            records.push(record);
        }
    }
    Ok(RecordScan {
        records,
        warnings: reader.take_warnings(),
        stream_len: reader.position(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{DumpSink, FlatSink};
    use std::collections::BTreeMap;

    /// `replace_buffer` keeps its promise when handed a buffer shorter than the reader's (an empty one
    /// here, after every payload piece): the reader goes on with a buffer of its own length and delivers
    /// every payload byte.
    #[test]
    fn a_shorter_replacement_buffer_is_grown_to_the_readers_length() {
        let payloads: Vec<(u64, Vec<u8>)> = (0..20u64)
            .map(|i| (i * 10_000, vec![i as u8 + 1; 3000 + i as usize * 100]))
            .collect();
        let mut sink = FlatSink::new(Vec::new());
        for (offset, data) in &payloads {
            sink.write_at(*offset, data).unwrap();
        }
        sink.finish().unwrap();
        let stream = sink.into_inner();
        let mut reader = FlatReader::with_chunk_size(stream.as_slice(), ParseMode::Strict, 4096);
        let mut seen = BTreeMap::new();
        while let Some(event) = reader.next_buffered_event(true).unwrap() {
            if let BufferedEvent::Data { offset, range, .. } = event {
                let old = reader.replace_buffer(Box::new([]));
                for (i, &byte) in old[range].iter().enumerate() {
                    seen.insert(offset + i as u64, byte);
                }
                assert_eq!(reader.buffer().len(), 4096);
            }
        }
        let expected: BTreeMap<u64, u8> = payloads
            .iter()
            .flat_map(|(offset, data)| (*offset..).zip(data.iter().copied()))
            .collect();
        assert_eq!(seen, expected);
    }
}
