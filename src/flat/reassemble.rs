//! Reassembly, flattened → raw: replay every record into a file with positioned writes.
//!
//! Later records win; holes stay sparse (nothing is written there, the length is set at the end); the
//! output length is max(offset + size). The payloads of a whole input buffer are gathered as ranges of that
//! buffer (`gather`), ordered by output offset with overlaps resolved (the later record wins), and written
//! straight from the buffer in as few `pwritev` as the offsets allow (`segment_write`): whatever the record
//! order, no system call per record. The writing runs on a second thread while the next buffer is read
//! (`pipeline`); batches are written one after the other in stream order, and a buffer is read into again
//! only after every range gathered from it has been written.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::sync::atomic::AtomicBool;

use super::error::{FlatError, FlatWarning, ParseMode, ReadError};
use super::pipeline::Pipeline;
use super::reader::{BufferedEvent, FlatReader};
use super::RecordHeader;

/// Input buffer of the reader: payloads are written straight from it. Three circulate
/// (`pipeline::BUFFERS`); 1 MiB keeps one within a core's L2 cache (2 MiB on this project's VM) and the
/// resident set under 16 MiB with three batches of one-byte records in flight.
const READ_BUFFER_SIZE: usize = 1 << 20;
/// Most payload pieces gathered into one batch: bounds a batch's bookkeeping (pieces and records, 64 bytes
/// per one-byte record) at about 1 MiB, three batches in flight. A full batch is handed over in the middle
/// of a buffer.
const MAX_PIECES: usize = 16 << 10;
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
    /// Writing the output failed (other than a record's bytes: truncating it, starting the writing thread).
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

/// A failed reassembly: what went wrong and what had been written by then. After an input error the output
/// holds every record before the failing one, for `--keep-partial`. After a write error it holds the
/// batches before the failing one and what of that batch was written, in output-offset order, below the
/// failing offset; `partial.output_len` is then the file's length, never extended past the failure.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct ReassembleError {
    /// The cause.
    pub kind: ReassembleErrorKind,
    /// What had been done when it happened.
    pub partial: ReassembleSummary,
}

/// Reassembles the flattened stream `input` into `output`, which is truncated first. `input` is read on
/// the calling thread; the output is written by a second thread that lives for the call (an error if it
/// cannot be started).
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
    mut reader: FlatReader<R>,
    output: &mut File,
    mut options: ReassembleOptions<'_>,
) -> Result<ReassembleSummary, ReassembleError> {
    let file: &File = output;
    let failed = |kind| ReassembleError {
        kind,
        partial: ReassembleSummary::default(),
    };
    truncate_existing(file).map_err(failed)?;
    let writer_failed = AtomicBool::new(false);
    let (replayed, unsent_records, written) = std::thread::scope(|scope| {
        let (mut pipeline, writer) = Pipeline::start(scope, file, &writer_failed, MAX_PIECES)
            .map_err(|e| {
                ReassembleErrorKind::Write(io::Error::new(
                    e.kind(),
                    format!("cannot start the thread that writes it: {e}"),
                ))
            })?;
        let replayed = replay(&mut reader, file, &mut pipeline, &mut options);
        let unsent_records = pipeline.unsent_records();
        // the writer ends when the pipeline is dropped, after the batches handed over
        drop(pipeline);
        let written = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Ok((replayed, unsent_records, written))
    })
    .map_err(failed)?;
    let mut summary = ReassembleSummary {
        records: written.totals.records,
        payload_bytes: written.totals.payload_bytes,
        output_len: written.totals.end,
        input_bytes: reader.position(),
        warnings: reader.take_warnings(),
    };
    // A write failure is reported if it came before the input's error in stream order, as a reassembly
    // writing each batch before reading on would have met it first; the summary then stops there.
    let kind = match (replayed, written.failure) {
        (Err((kind, handed_over)), Some((sequence, _))) if sequence >= handed_over => {
            summary.records += unsent_records;
            Some(kind)
        }
        (_, Some((_, kind))) => {
            summary.input_bytes = written.totals.input_position;
            summary.warnings.truncate(written.totals.warnings);
            Some(kind)
        }
        (replayed, None) => {
            summary.records += unsent_records;
            replayed.err().map(|(kind, _)| kind)
        }
    };
    match kind {
        None => Ok(summary),
        Some(kind) => {
            if kind.is_output_error() {
                // the failing batch was written in offset order up to the failure: the file ends where
                // its writes stopped, not where the batch would have ended
                if let Ok(metadata) = file.metadata() {
                    summary.output_len = metadata.len();
                }
            }
            Err(ReassembleError {
                kind,
                partial: summary,
            })
        }
    }
}

/// Empties an output that is not empty. A fresh output is left alone: ext4 flushes a file truncated to
/// 0 when it is closed (auto_da_alloc), which would cost it a synchronous write-back.
fn truncate_existing(file: &File) -> Result<(), ReassembleErrorKind> {
    let old_len = file.metadata().map_err(ReassembleErrorKind::Write)?.len();
    if old_len != 0 {
        file.set_len(0).map_err(ReassembleErrorKind::Write)?;
    }
    Ok(())
}

/// Parses the stream and hands its batches to the pipeline until the end, an error, or a failure of the
/// writer. An error comes with the number of batches handed over before it was found.
fn replay<R: Read>(
    reader: &mut FlatReader<R>,
    file: &File,
    pipeline: &mut Pipeline<'_>,
    options: &mut ReassembleOptions<'_>,
) -> Result<(), (ReassembleErrorKind, u64)> {
    let mut next_progress = PROGRESS_STEP;
    let mut next_write_behind = WRITE_BEHIND_STEP;
    let result = loop {
        // input is read only when the gathered pieces have been handed over with their buffer
        let event = match reader.next_buffered_event(pipeline.is_empty()) {
            Ok(Some(event)) => event,
            Ok(None) => break Ok(()),
            Err(ReadError::Format(e)) => break Err(ReassembleErrorKind::Invalid(e)),
            Err(ReadError::Io(e)) => break Err(ReassembleErrorKind::Read(e)),
        };
        let writing = match event {
            BufferedEvent::Record(_) => {
                pipeline.count_record();
                true
            }
            BufferedEvent::Data {
                record,
                offset,
                range,
            } => {
                pipeline.add(&record, offset, range);
                !pipeline.is_full() || pipeline.hand_over(reader)
            }
            BufferedEvent::NeedInput => {
                let writing = pipeline.hand_over(reader);
                if options.write_behind && reader.position() >= next_write_behind {
                    start_write_back(file);
                    next_write_behind = reader.position() + WRITE_BEHIND_STEP;
                }
                writing
            }
            BufferedEvent::End => true,
        };
        if !writing {
            // the writer failed: its error is reported
            break Ok(());
        }
        if let Some(progress) = options.progress.as_mut() {
            if reader.position() >= next_progress {
                progress(reader.position());
                next_progress = reader.position() + PROGRESS_STEP;
            }
        }
    };
    let handed_over_before = pipeline.handed_over();
    // what arrived before an error is written too (for --keep-partial): the pending pieces index the
    // reader's buffer, which has not been read into since they were gathered
    pipeline.hand_over(reader);
    result.map_err(|kind| (kind, handed_over_before))
}

/// Starts write-back of the file's dirty pages without waiting for it. A hint: errors surface in the
/// caller's final `fsync`.
fn start_write_back(file: &File) {
    // SAFETY: sync_file_range only reads its integer arguments.
    unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
}
