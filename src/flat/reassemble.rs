//! Reassembly, flattened → raw: replay every record into a file with positioned writes.
//!
//! Later records win; holes stay sparse (nothing is written there, the length is set at the end); the
//! output length is max(offset + size). The payloads of a whole input buffer are gathered as ranges of that
//! buffer (`gather`), ordered by output offset with overlaps resolved (the later record wins), and written
//! straight from the buffer in as few `pwritev` as the offsets allow (`segment_write`): whatever the record
//! order, no system call per record, and the input is read again only after every gathered range has been
//! written.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::os::fd::AsRawFd;

use super::error::{FlatError, FlatWarning, ParseMode, ReadError};
use super::gather::Batch;
use super::reader::{BufferedEvent, FlatReader};
use super::segment_write::SegmentWriter;
use super::RecordHeader;

/// Input buffer of the reader: payloads are written straight from it, so it bounds the longest write.
/// 4 MiB measured about 15 % faster than 256 KiB (`benches/reassemble.rs`); the resident set stays
/// well under 16 MiB.
const READ_BUFFER_SIZE: usize = 4 << 20;
/// Most payload pieces gathered before they are written (bounds the gathering's memory at about 2 MiB for
/// a buffer of one-byte records).
const MAX_PIECES: usize = 32 << 10;
/// How often (in input bytes) write-back is started when [`ReassembleOptions::write_behind`] asks for it.
const WRITE_BEHIND_STEP: u64 = 64 << 20;
/// How often (in input bytes) the progress callback is called.
const PROGRESS_STEP: u64 = 16 << 20;

/// Options of [`reassemble`].
#[derive(Default)]
pub struct ReassembleOptions<'a> {
    /// Strict (default) or lenient parsing.
    pub mode: ParseMode,
    /// Called now and then with the number of input bytes consumed so far.
    pub progress: Option<&'a mut dyn FnMut(u64)>,
    /// Start writing the output back to the disk every 64 MiB while reassembling, for a caller that
    /// ends with `fsync` (`reassemble --sync`): the disk then works during the copy, and the final flush
    /// waits for little (2 GiB: 0.6 s instead of 1.4 s here). Without a final `fsync` it only costs time.
    pub write_behind: bool,
}

/// What a reassembly did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReassembleSummary {
    /// Data records replayed.
    pub records: u64,
    /// Payload bytes written (overlapping bytes counted each time).
    pub payload_bytes: u64,
    /// Length of the reassembled output.
    pub output_len: u64,
    /// Bytes of the flattened stream consumed.
    pub input_bytes: u64,
    /// Warnings of the parser.
    pub warnings: Vec<FlatWarning>,
}

/// Why a reassembly failed.
#[derive(Debug, thiserror::Error)]
pub enum ReassembleErrorKind {
    /// The stream violates an invariant (a truncated stream is F7, naming the record and missing bytes).
    #[error(transparent)]
    Invalid(#[from] FlatError),
    /// Reading the stream failed.
    #[error("cannot read the flattened stream: {0}")]
    Read(io::Error),
    /// Writing the output failed (other than a record's bytes: truncating it, setting its length).
    #[error("cannot write the output: {0}")]
    Write(io::Error),
    /// Writing a record's bytes failed: the first output offset that could not be written and the record
    /// whose bytes go there (or, for the zeros of a gap between records, the record after the gap).
    #[error(
        "cannot write the output at offset {offset:#x} (record {}, header at stream position {:#x}): {error}",
        record.index,
        record.position
    )]
    WriteRecord {
        /// The record.
        record: RecordHeader,
        /// The output offset.
        offset: u64,
        /// The error of the system call (not a `source`: the message includes it).
        error: io::Error,
    },
}

impl ReassembleErrorKind {
    /// Whether the output failed (rather than the input: invalid, truncated or unreadable).
    pub fn is_output_error(&self) -> bool {
        matches!(self, Self::Write(_) | Self::WriteRecord { .. })
    }
}

/// A failed reassembly: what went wrong and what had been written by then. The output holds every record
/// before the failing one (flushed, with its length set), for `--keep-partial`.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct ReassembleError {
    /// The cause.
    pub kind: ReassembleErrorKind,
    /// What had been done when it happened.
    pub partial: ReassembleSummary,
}

/// Reassembles the flattened stream `input` into `output`, which is truncated first.
pub fn reassemble(
    input: impl Read,
    output: &mut File,
    options: ReassembleOptions<'_>,
) -> Result<ReassembleSummary, ReassembleError> {
    let reader = FlatReader::with_chunk_size(input, options.mode, READ_BUFFER_SIZE);
    reassemble_from(reader, output, options)
}

/// [`reassemble`] for a flattened stream in a regular file, which is read sequentially (the kernel is
/// told so, for a larger read-ahead). The same results as [`reassemble`].
pub fn reassemble_file(
    input: File,
    output: &mut File,
    options: ReassembleOptions<'_>,
) -> Result<ReassembleSummary, ReassembleError> {
    // SAFETY: posix_fadvise only reads its integer arguments; the advice is a hint, its failure harmless
    unsafe { libc::posix_fadvise(input.as_raw_fd(), 0, 0, libc::POSIX_FADV_SEQUENTIAL) };
    reassemble(input, output, options)
}

fn reassemble_from<R: Read>(
    reader: FlatReader<R>,
    output: &mut File,
    mut options: ReassembleOptions<'_>,
) -> Result<ReassembleSummary, ReassembleError> {
    let mut summary = ReassembleSummary::default();
    let mut writer = BatchWriter::new(output);
    let result = replay(reader, &mut writer, &mut options, &mut summary);
    let finished = writer.finish();
    summary.output_len = writer.end;
    match (result, finished) {
        (Ok(()), Ok(())) => Ok(summary),
        (Err(kind), _) => Err(ReassembleError {
            kind,
            partial: summary,
        }),
        (Ok(()), Err(kind)) => Err(ReassembleError {
            kind,
            partial: summary,
        }),
    }
}

fn replay<R: Read>(
    mut reader: FlatReader<R>,
    writer: &mut BatchWriter<'_>,
    options: &mut ReassembleOptions<'_>,
    summary: &mut ReassembleSummary,
) -> Result<(), ReassembleErrorKind> {
    // only a non-empty output is truncated: ext4 flushes a file truncated to 0 when it is closed
    // (auto_da_alloc), which costs a fresh output file a synchronous write-back
    let old_len = writer
        .file
        .metadata()
        .map_err(ReassembleErrorKind::Write)?
        .len();
    if old_len != 0 {
        writer.file.set_len(0).map_err(ReassembleErrorKind::Write)?;
    }
    let mut next_progress = PROGRESS_STEP;
    let mut next_write_behind = WRITE_BEHIND_STEP;
    let result = loop {
        // input is read only when every gathered payload range has been written
        let event = match reader.next_buffered_event(writer.is_empty()) {
            Ok(Some(event)) => event,
            Ok(None) => break Ok(()),
            Err(ReadError::Format(e)) => break Err(ReassembleErrorKind::Invalid(e)),
            Err(ReadError::Io(e)) => break Err(ReassembleErrorKind::Read(e)),
        };
        match event {
            BufferedEvent::Record(_) => summary.records += 1,
            BufferedEvent::Data {
                record,
                offset,
                range,
            } => {
                summary.payload_bytes += range.len() as u64;
                writer.add(&record, offset, range);
                if writer.is_full() {
                    if let Err(e) = writer.write(reader.buffer()) {
                        break Err(e);
                    }
                }
            }
            BufferedEvent::NeedInput => {
                if let Err(e) = writer.write(reader.buffer()) {
                    break Err(e);
                }
                if options.write_behind && reader.position() >= next_write_behind {
                    start_write_back(writer.file);
                    next_write_behind = reader.position() + WRITE_BEHIND_STEP;
                }
            }
            BufferedEvent::End => {}
        }
        if let Some(progress) = options.progress.as_mut() {
            if reader.position() >= next_progress {
                progress(reader.position());
                next_progress = reader.position() + PROGRESS_STEP;
            }
        }
    };
    // what arrived before an error is written too (for --keep-partial): no input was read since the
    // pending ranges were gathered, so they are still valid
    let written = writer.write(reader.buffer());
    summary.input_bytes = reader.position();
    summary.warnings = reader.take_warnings();
    match (result, written) {
        (Err(kind), _) | (Ok(()), Err(kind)) => Err(kind),
        (Ok(()), Ok(())) => Ok(()),
    }
}

/// Gathers the payload ranges of the reader's buffer into a [`Batch`] and writes them with a
/// [`SegmentWriter`]; tracks the output length.
struct BatchWriter<'f> {
    file: &'f File,
    batch: Batch,
    segments: SegmentWriter,
    end: u64,
}

impl<'f> BatchWriter<'f> {
    fn new(file: &'f File) -> Self {
        BatchWriter {
            file,
            batch: Batch::new(MAX_PIECES),
            segments: SegmentWriter::new(file),
            end: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    fn is_full(&self) -> bool {
        self.batch.is_full()
    }

    fn add(&mut self, record: &RecordHeader, offset: u64, range: Range<usize>) {
        self.end = self.end.max(offset + range.len() as u64);
        self.batch.add(record, offset, range);
    }

    /// Writes the gathered pieces, whose ranges index `buffer`; a failure names the record and offset.
    fn write(&mut self, buffer: &[u8]) -> Result<(), ReassembleErrorKind> {
        let (segments, records) = self.batch.resolve();
        let result = self.segments.write(self.file, buffer, segments);
        let error = result.err().map(|failure| {
            // the segment holding the failed offset, or the one after it for a gap's zeros
            let index = segments
                .partition_point(|s| s.end() <= failure.offset)
                .min(segments.len() - 1);
            ReassembleErrorKind::WriteRecord {
                record: records[segments[index].record as usize],
                offset: failure.offset,
                error: failure.error,
            }
        });
        self.batch.clear();
        error.map_or(Ok(()), Err)
    }

    /// Sets the length to the largest end written.
    fn finish(&mut self) -> Result<(), ReassembleErrorKind> {
        let len = self
            .file
            .metadata()
            .map_err(ReassembleErrorKind::Write)?
            .len();
        if len != self.end {
            self.file.set_len(self.end).map_err(|e| {
                ReassembleErrorKind::Write(io::Error::new(
                    e.kind(),
                    format!("cannot set its length to {} bytes: {e}", self.end),
                ))
            })?;
        }
        Ok(())
    }
}

/// Starts write-back of the file's dirty pages without waiting for it. A hint: errors surface in the
/// caller's final `fsync`.
fn start_write_back(file: &File) {
    // SAFETY: sync_file_range only reads its integer arguments.
    unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
}
