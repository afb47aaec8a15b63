//! Reassembly's two threads: the calling thread reads and parses the stream and gathers the payload
//! pieces of each input buffer into a batch (`gather`); a writing thread resolves and writes the batches
//! (`segment_write`), one after the other in stream order, while the next buffer is read. So the copy
//! out of the input's page cache and the copy into the output's overlap on two cores; on one core they
//! take turns as before.
//!
//! Buffers and batches circulate: a batch leaves with the buffer its pieces index into, and the reader
//! continues in a free buffer (the bytes it has read but not consumed are moved there), so it never reads
//! into a buffer that is still being written from. At most [`BUFFERS`] input buffers and batches exist:
//! memory stays bounded whatever the input.

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender};

use super::gather::Batch;
use super::reader::FlatReader;
use super::reassemble::ReassembleErrorKind;
use super::segment_write::SegmentWriter;
use super::RecordHeader;

/// Input buffers in circulation: one being read into, one being written from, one ready in between.
pub(super) const BUFFERS: usize = 3;

/// What the parsing side counted for the batches handed over so far (the summary of a reassembly counts
/// only what was handed to the writer and written, or failed to be).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Totals {
    /// Data records whose headers were parsed.
    pub records: u64,
    /// Payload bytes gathered (overlapping bytes counted each time).
    pub payload_bytes: u64,
    /// The largest end offset of a payload piece.
    pub end: u64,
    /// Stream position when the batch was handed over.
    pub input_position: u64,
    /// Number of the reader's warnings when the batch was handed over.
    pub warnings: usize,
}

impl Totals {
    /// Adds the counts of a later batch.
    fn absorb(&mut self, later: &Totals) {
        self.records += later.records;
        self.payload_bytes += later.payload_bytes;
        self.end = self.end.max(later.end);
        self.input_position = later.input_position;
        self.warnings = later.warnings;
    }
}

/// A batch on its way to the writer, or back.
struct Job {
    /// Place in stream order, from 0.
    sequence: u64,
    /// The input buffer the batch's pieces index into.
    buffer: Box<[u8]>,
    batch: Batch,
    totals: Totals,
}

/// What the writing thread did.
#[derive(Debug, Default)]
pub(super) struct Written {
    /// The totals of the batches it wrote (a failed one included).
    pub totals: Totals,
    /// The first failed batch's sequence number and error; later batches are not written.
    pub failure: Option<(u64, ReassembleErrorKind)>,
}

/// The calling thread's end of the pipeline: gathers pieces and hands batches to the writing thread.
pub(super) struct Pipeline<'a> {
    jobs: SyncSender<Job>,
    free: Receiver<Job>,
    failed: &'a AtomicBool,
    current: Batch,
    totals: Totals,
    sequence: u64,
    allocated: usize,
    max_pieces: usize,
}

impl<'a> Pipeline<'a> {
    /// Starts the writing thread in `scope`, writing into `file`; batches hold at most `max_pieces`
    /// pieces. Fails if the thread cannot be created.
    pub fn start<'scope>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        file: &'scope File,
        failed: &'a AtomicBool,
        max_pieces: usize,
    ) -> std::io::Result<(Pipeline<'a>, std::thread::ScopedJoinHandle<'scope, Written>)>
    where
        'a: 'scope,
    {
        let (jobs, job_queue) = std::sync::mpsc::sync_channel(BUFFERS);
        let (free_queue, free) = std::sync::mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("reassemble-writer".into())
            .spawn_scoped(scope, move || {
                write_batches(file, job_queue, free_queue, failed)
            })?;
        Ok((
            Pipeline {
                jobs,
                free,
                failed,
                current: Batch::new(max_pieces),
                totals: Totals::default(),
                sequence: 0,
                // the reader's own buffer
                allocated: 1,
                max_pieces,
            },
            writer,
        ))
    }

    /// Whether no piece has been gathered since the last batch was handed over.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }

    /// Whether the batch has reached its bound and must be handed over before more pieces are added.
    pub fn is_full(&self) -> bool {
        self.current.is_full()
    }

    /// Counts a record header.
    pub fn count_record(&mut self) {
        self.totals.records += 1;
    }

    /// Gathers the payload bytes `range` of the reader's buffer, to be written at `offset`.
    pub fn add(&mut self, record: &RecordHeader, offset: u64, range: Range<usize>) {
        self.totals.payload_bytes += range.len() as u64;
        self.totals.end = self.totals.end.max(offset + range.len() as u64);
        self.current.add(record, offset, range);
    }

    /// Hands the gathered batch with the reader's buffer to the writing thread and gives the reader a
    /// free buffer (waiting for the writer to release one when all are in use). Returns false when the
    /// writer has failed (or is gone): the caller stops reading.
    pub fn hand_over<R: Read>(&mut self, reader: &mut FlatReader<R>) -> bool {
        if self.current.is_empty() {
            return !self.failed.load(Ordering::Acquire);
        }
        let fresh = if self.allocated < BUFFERS {
            self.allocated += 1;
            Job {
                sequence: 0,
                buffer: vec![0u8; reader.buffer().len()].into_boxed_slice(),
                batch: Batch::new(self.max_pieces),
                totals: Totals::default(),
            }
        } else {
            match self.free.recv() {
                Ok(job) => job,
                Err(_) => return false,
            }
        };
        let buffer = reader.replace_buffer(fresh.buffer);
        self.totals.input_position = reader.position();
        self.totals.warnings = reader.warnings().len();
        let job = Job {
            sequence: self.sequence,
            buffer,
            batch: std::mem::replace(&mut self.current, fresh.batch),
            totals: std::mem::take(&mut self.totals),
        };
        self.sequence += 1;
        self.jobs.send(job).is_ok() && !self.failed.load(Ordering::Acquire)
    }

    /// Records counted since the last batch was handed over (headers whose payload never came).
    pub fn unsent_records(&self) -> u64 {
        self.totals.records
    }

    /// Number of batches handed over so far.
    pub fn handed_over(&self) -> u64 {
        self.sequence
    }
}

/// The writing thread: writes each batch in turn and sends it back for reuse; after a failure it only
/// sends them back.
fn write_batches(
    file: &File,
    jobs: Receiver<Job>,
    free: Sender<Job>,
    failed: &AtomicBool,
) -> Written {
    let mut segments = SegmentWriter::new(file);
    let mut written = Written::default();
    for mut job in jobs {
        if written.failure.is_none() {
            written.totals.absorb(&job.totals);
            if let Err(kind) = write_batch(&mut segments, file, &job.buffer, &mut job.batch) {
                written.failure = Some((job.sequence, kind));
                failed.store(true, Ordering::Release);
            }
        }
        job.batch.clear();
        // the reader may have stopped: then the buffer is simply dropped
        let _ = free.send(job);
    }
    written
}

/// Resolves and writes one batch, whose pieces index `buffer`; a failure names the record and offset.
fn write_batch(
    segments: &mut SegmentWriter,
    file: &File,
    buffer: &[u8],
    batch: &mut Batch,
) -> Result<(), ReassembleErrorKind> {
    let (resolved, records) = batch.resolve();
    segments.write(file, buffer, resolved).map_err(|failure| {
        // the segment holding the failed offset, or the one after it for a gap's zeros
        let index = resolved
            .partition_point(|s| s.end() <= failure.offset)
            .min(resolved.len() - 1);
        ReassembleErrorKind::WriteRecord {
            record: records[resolved[index].record as usize],
            offset: failure.offset,
            error: failure.error,
        }
    })
}
