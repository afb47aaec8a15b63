//! The header scan: the file header and every record header, read in large windows, seeking over the
//! payloads.

use std::io;

use super::table::{ChunkedVec, Entry, RecordTable};
use crate::flat::error::strict_error_or_warning;
use crate::flat::{
    decode_record_header_in_mode, parse_file_header, FlatError, FlatFinding, FlatInvariant,
    FlatWarning, RecordOrEnd,
};
use crate::flat::{ParseMode, ReadError, FLAT_HEADER_SIZE, RECORD_HEADER_SIZE};
use crate::readat::ReadAt;

/// Size of the blocks in which record headers are read when payloads are small.
const SCAN_WINDOW: usize = 1 << 20;
/// Size of the block read for a header that follows a payload larger than [`SCAN_WINDOW`].
const SMALL_SCAN_WINDOW: usize = 4096;

/// What the header scan found.
pub(super) struct Scan {
    pub(super) table: RecordTable,
    pub(super) warnings: Vec<FlatWarning>,
}

/// Reads the file header and every record header of `source`, seeking over payloads.
pub(super) fn scan_records<R: ReadAt + ?Sized>(
    source: &R,
    mode: ParseMode,
) -> Result<Scan, ReadError> {
    use FlatInvariant::*;
    let file_length = source.size()?;
    let header_len = (file_length.min(FLAT_HEADER_SIZE as u64)) as usize;
    let mut header = vec![0u8; header_len];
    source.read_exact_at(0, &mut header)?;
    let mut warnings = parse_file_header(&header, mode)?;
    let minimum = (FLAT_HEADER_SIZE + RECORD_HEADER_SIZE) as u64;
    if file_length < minimum {
        return Err(format_error(FlatFinding::at(
            F1,
            0,
            format!("the file is {file_length} bytes long, shorter than the {minimum} bytes of a header and an end marker"),
        )));
    }

    let mut window = HeaderWindow::new();
    let mut entries = ChunkedVec::new();
    let mut payloads = ChunkedVec::new();
    let mut position = FLAT_HEADER_SIZE as u64;
    let mut index = 0u64;
    let mut last_size = 0u64;
    loop {
        let remaining = file_length - position;
        if remaining < RECORD_HEADER_SIZE as u64 {
            return Err(format_error(FlatFinding::in_record(
                F7,
                index,
                position,
                format!(
                    "the file ends {remaining} bytes into this record header (16 bytes) and has no end marker"
                ),
            )));
        }
        let bytes = window.header_at(source, position, file_length, last_size)?;
        // The one record-header rule of every reader (the lenient zero-size first record included).
        let decoded = decode_record_header_in_mode(&bytes, index, position, mode, &mut warnings)?;
        let record = match decoded {
            RecordOrEnd::End => break,
            // Only a tolerated zero-size first record has no payload: nothing to index.
            RecordOrEnd::Record(record) if record.size == 0 => {
                position += RECORD_HEADER_SIZE as u64;
                index += 1;
                continue;
            }
            RecordOrEnd::Record(record) => record,
        };
        let payload_end = record.payload_position().checked_add(record.size);
        if payload_end.is_none_or(|end| end > file_length) {
            let present = remaining - RECORD_HEADER_SIZE as u64;
            return Err(format_error(FlatFinding::in_record(
                F7,
                index,
                position,
                format!(
                    "payload truncated: {present} of {} bytes present, {} missing",
                    record.size,
                    record.size - present
                ),
            )));
        }
        entries.push(Entry {
            offset: record.offset,
            value: payloads.len() as u64,
        });
        payloads.push(record.payload_position());
        last_size = record.size;
        position = record.payload_position() + record.size;
        index += 1;
    }
    let end_marker_end = position + RECORD_HEADER_SIZE as u64;
    if end_marker_end != file_length {
        let finding = FlatFinding::at(
            F12,
            end_marker_end,
            format!(
                "{} bytes follow the end marker",
                file_length - end_marker_end
            ),
        );
        strict_error_or_warning(mode, finding, &mut warnings)?;
    }
    payloads.push(position + RECORD_HEADER_SIZE as u64);
    if entries.is_empty() {
        let finding = FlatFinding::at(
            F13,
            FLAT_HEADER_SIZE as u64,
            "the stream has no data record",
        );
        strict_error_or_warning(mode, finding, &mut warnings)?;
    }
    // Room for the extents the sweep writes into the same table: one per record plus a few holes.
    let extra = entries.len() / 64 + 64;
    let table = RecordTable {
        entries: entries.into_vec(extra),
        payloads,
    };
    Ok(Scan { table, warnings })
}

fn format_error(finding: FlatFinding) -> ReadError {
    ReadError::Format(FlatError(finding))
}

/// A block of the flattened file held in memory, so that runs of small records cost one read per block
/// rather than one per record header.
struct HeaderWindow {
    bytes: Vec<u8>,
    start: u64,
    len: usize,
}

impl HeaderWindow {
    fn new() -> Self {
        HeaderWindow {
            bytes: Vec::new(),
            start: 0,
            len: 0,
        }
    }

    /// The 16 bytes at `position` (which the caller checked lie inside the file). After a payload larger
    /// than a window the next header is likely far from the one after it too, so a small block is read.
    fn header_at<R: ReadAt + ?Sized>(
        &mut self,
        source: &R,
        position: u64,
        file_length: u64,
        last_size: u64,
    ) -> io::Result<[u8; RECORD_HEADER_SIZE]> {
        let inside = position >= self.start
            && position + RECORD_HEADER_SIZE as u64 <= self.start + self.len as u64;
        if !inside {
            let block = if last_size >= SCAN_WINDOW as u64 {
                SMALL_SCAN_WINDOW
            } else {
                SCAN_WINDOW
            };
            let len = (file_length - position).min(block as u64) as usize;
            if self.bytes.len() < len {
                self.bytes.resize(len, 0);
            }
            source.read_exact_at(position, &mut self.bytes[..len])?;
            self.start = position;
            self.len = len;
        }
        let at = (position - self.start) as usize;
        let mut header = [0u8; RECORD_HEADER_SIZE];
        header.copy_from_slice(&self.bytes[at..at + RECORD_HEADER_SIZE]);
        Ok(header)
    }
}
