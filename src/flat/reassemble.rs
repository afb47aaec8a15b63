//! Reassembly, flattened → raw: replay every record into a file with positioned writes.
//!
//! Later records win; holes stay sparse (nothing is written there, the length is set at the end); the
//! output length is max(offset + size). Records arrive as small pieces (QEMU writes 4–16 KiB per record),
//! so a [`WriteCombiner`] gathers pieces that continue each other into runs of up to 128 KiB and writes a run
//! with one `pwrite`: a few interleaved streams (descriptors at low offsets, page data at high offsets,
//! the two bitmaps) each keep their own run, so backward jumps do not cut the runs short.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

use super::error::{FlatError, FlatWarning, ParseMode, ReadError};
use super::reader::{FlatEvent, FlatReader};

/// Largest run gathered before it is written: small enough to stay in the CPU cache until `pwrite` copies
/// it (measured: 1 MiB runs made the kernel copy into the page cache 2-4 times slower).
const RUN_CAPACITY: usize = 128 << 10;
/// Input buffer of the reader: small enough to stay in the CPU cache between `read` and the copy out.
const READ_BUFFER_SIZE: usize = 128 << 10;
/// Number of runs gathered at once (interleaved write streams).
const MAX_RUNS: usize = 6;
/// How often (in input bytes) the progress callback is called.
const PROGRESS_STEP: u64 = 16 << 20;

/// Options of [`reassemble`].
#[derive(Default)]
pub struct ReassembleOptions<'a> {
    /// Strict (default) or lenient parsing.
    pub mode: ParseMode,
    /// Called now and then with the number of input bytes consumed so far.
    pub progress: Option<&'a mut dyn FnMut(u64)>,
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
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Write(io::Error),
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
    mut options: ReassembleOptions<'_>,
) -> Result<ReassembleSummary, ReassembleError> {
    let mut summary = ReassembleSummary::default();
    let mut combiner = WriteCombiner::new(output);
    let result = replay(input, &mut combiner, &mut options, &mut summary);
    let finished = combiner.finish();
    summary.output_len = combiner.end;
    match (result, finished) {
        (Ok(()), Ok(())) => Ok(summary),
        (Err(kind), _) => Err(ReassembleError {
            kind,
            partial: summary,
        }),
        (Ok(()), Err(e)) => Err(ReassembleError {
            kind: ReassembleErrorKind::Write(e),
            partial: summary,
        }),
    }
}

fn replay(
    input: impl Read,
    combiner: &mut WriteCombiner<'_>,
    options: &mut ReassembleOptions<'_>,
    summary: &mut ReassembleSummary,
) -> Result<(), ReassembleErrorKind> {
    combiner
        .file
        .set_len(0)
        .map_err(ReassembleErrorKind::Write)?;
    let mut reader = FlatReader::with_chunk_size(input, options.mode, READ_BUFFER_SIZE);
    let mut next_progress = PROGRESS_STEP;
    let result = loop {
        let event = match reader.next_event() {
            Ok(Some(event)) => event,
            Ok(None) => break Ok(()),
            Err(ReadError::Format(e)) => break Err(ReassembleErrorKind::Invalid(e)),
            Err(ReadError::Io(e)) => break Err(ReassembleErrorKind::Read(e)),
        };
        match event {
            FlatEvent::Record(_) => summary.records += 1,
            FlatEvent::Data { offset, bytes, .. } => {
                summary.payload_bytes += bytes.len() as u64;
                if let Err(e) = combiner.write(offset, bytes) {
                    break Err(ReassembleErrorKind::Write(e));
                }
            }
            FlatEvent::End => {}
        }
        if let Some(progress) = options.progress.as_mut() {
            if reader.position() >= next_progress {
                progress(reader.position());
                next_progress = reader.position() + PROGRESS_STEP;
            }
        }
    };
    summary.input_bytes = reader.position();
    summary.warnings = reader.take_warnings();
    result
}

struct Run {
    start: u64,
    data: Vec<u8>,
    last_use: u64,
}

impl Run {
    fn end(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

/// Gathers positioned writes into a few runs of contiguous bytes and writes each run with one `pwrite`,
/// keeping the replay order wherever ranges overlap (pending runs are always disjoint).
struct WriteCombiner<'f> {
    file: &'f File,
    runs: Vec<Run>,
    spare: Vec<Vec<u8>>,
    end: u64,
    clock: u64,
}

impl<'f> WriteCombiner<'f> {
    fn new(file: &'f File) -> Self {
        WriteCombiner {
            file,
            runs: Vec::with_capacity(MAX_RUNS),
            spare: Vec::new(),
            end: 0,
            clock: 0,
        }
    }

    fn write(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let end = offset + bytes.len() as u64;
        self.end = self.end.max(end);
        self.clock += 1;
        let mut index = 0;
        while index < self.runs.len() {
            let run = &self.runs[index];
            if run.start < end && offset < run.end() {
                self.flush_run(index)?;
            } else {
                index += 1;
            }
        }
        if bytes.len() >= RUN_CAPACITY {
            return self.file.write_all_at(bytes, offset);
        }
        if let Some(index) = self.runs.iter().position(|run| run.end() == offset) {
            let run = &mut self.runs[index];
            if run.data.len() + bytes.len() <= RUN_CAPACITY {
                run.data.extend_from_slice(bytes);
                run.last_use = self.clock;
                return Ok(());
            }
            self.flush_run(index)?;
        }
        if self.runs.len() == MAX_RUNS {
            let oldest = (0..self.runs.len())
                .min_by_key(|&i| self.runs[i].last_use)
                .unwrap_or(0);
            self.flush_run(oldest)?;
        }
        let mut data = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(RUN_CAPACITY));
        data.extend_from_slice(bytes);
        self.runs.push(Run {
            start: offset,
            data,
            last_use: self.clock,
        });
        Ok(())
    }

    fn flush_run(&mut self, index: usize) -> io::Result<()> {
        let mut run = self.runs.swap_remove(index);
        let result = self.file.write_all_at(&run.data, run.start);
        run.data.clear();
        self.spare.push(run.data);
        result
    }

    /// Writes every pending run and sets the length to the largest end written.
    fn finish(&mut self) -> io::Result<()> {
        while !self.runs.is_empty() {
            self.flush_run(self.runs.len() - 1)?;
        }
        self.file.set_len(self.end)
    }
}
