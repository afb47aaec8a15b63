//! `kdump-flat flatten IN OUT`: raw → flattened, one record per stretch of data (at most 1 MiB), skipping
//! holes found with `SEEK_DATA`/`SEEK_HOLE`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::anyhow;

use super::progress::Progress;
use super::{CliResult, Failure};
use crate::output::{AtomicOutput, NamedWriter};
use crate::sink::{DumpSink, FlatSink};

/// Largest record written.
const RECORD_SIZE: usize = 1 << 20;

/// Arguments of `flatten`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  kdump-flat flatten vmcore vmcore.flat
  kdump-flat flatten vmcore - | ssh host 'cat > vmcore.flat'

Holes of IN (SEEK_HOLE) are not written; offset 0 and the last byte are always covered, so that
`reassemble` gives back a file of the same length and content.")]
pub struct Args {
    /// Raw input file (seekable).
    pub input: PathBuf,
    /// Flattened output file, or `-` for standard output.
    pub output: PathBuf,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Runs `flatten`.
pub fn run(args: Args) -> CliResult {
    // O_NONBLOCK: a FIFO is refused below instead of waiting for a writer.
    let input = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&args.input)
        .map_err(|e| Failure::Io(anyhow!("cannot open {}: {e}", args.input.display())))?;
    let metadata = input
        .metadata()
        .map_err(|e| Failure::Io(anyhow!("cannot inspect {}: {e}", args.input.display())))?;
    if !metadata.is_file() {
        return Err(Failure::Io(anyhow!(
            "{} is not a regular file: flatten reads its input at offsets and skips its holes",
            args.input.display()
        )));
    }
    let len = metadata.len();
    if len == 0 {
        return Err(Failure::Invalid(anyhow!(
            "{} is empty: a flattened stream needs at least one record (F13)",
            args.input.display()
        )));
    }
    let progress = Progress::bytes("flattening", Some(len));
    if args.output.as_os_str() == "-" {
        let stdout = NamedWriter::new(io::stdout().lock(), "standard output");
        flatten(
            &input,
            &args.input,
            len,
            BufWriter::with_capacity(RECORD_SIZE, stdout),
            &progress,
        )?;
    } else {
        let mut output = AtomicOutput::create_stream(&args.output, args.force)?;
        let writer = BufWriter::with_capacity(RECORD_SIZE, output.named_file());
        flatten(&input, &args.input, len, writer, &progress)?;
        output.commit()?;
    }
    progress.finish();
    Ok(())
}

/// Writes the flattened form of `input` (`len` bytes, named `input_path` in read errors) to `writer`,
/// whose own errors name it.
fn flatten(
    input: &File,
    input_path: &Path,
    len: u64,
    writer: impl Write,
    progress: &Progress,
) -> io::Result<()> {
    let read_error = |e: io::Error, offset: u64| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot read {} at offset {offset:#x}: {e}",
                input_path.display()
            ),
        )
    };
    let mut sink = FlatSink::new(writer);
    let mut buffer = vec![0u8; RECORD_SIZE];
    let segments = data_segments(input, len).map_err(|e| read_error(e, 0))?;
    if segments.first().is_none_or(|&(start, _)| start > 0) {
        sink.write_at(0, &[0])?;
    }
    for &(start, end) in &segments {
        let mut offset = start;
        while offset < end {
            let want = ((end - offset) as usize).min(RECORD_SIZE);
            input
                .read_exact_at(&mut buffer[..want], offset)
                .map_err(|e| read_error(e, offset))?;
            sink.write_at(offset, &buffer[..want])?;
            offset += want as u64;
            progress.set(offset);
        }
    }
    if segments.last().is_none_or(|&(_, end)| end < len) {
        sink.write_at(len - 1, &[0])?;
    }
    sink.finish()?;
    sink.into_inner().flush()
}

/// The data stretches of `file` as (start, end) pairs, by `SEEK_DATA`/`SEEK_HOLE`; the whole file when the
/// file system cannot tell.
fn data_segments(file: &File, len: u64) -> io::Result<Vec<(u64, u64)>> {
    let fd = file.as_raw_fd();
    let mut segments = Vec::new();
    let mut position = 0u64;
    while position < len {
        let Some(data) = seek(fd, position, libc::SEEK_DATA)? else {
            break;
        };
        if data >= len {
            break;
        }
        let hole = seek(fd, data, libc::SEEK_HOLE)?.unwrap_or(len).min(len);
        segments.push((data, hole));
        position = hole;
    }
    Ok(segments)
}

/// `lseek(fd, offset, whence)`: `None` for ENXIO (no data/hole after offset); the whole remaining file is
/// data when SEEK_DATA is not supported (EINVAL).
fn seek(fd: i32, offset: u64, whence: i32) -> io::Result<Option<u64>> {
    let offset_arg = libc::off_t::try_from(offset).map_err(io::Error::other)?;
    // SAFETY: lseek on a file descriptor we own (borrowed from a live File) has no memory effects.
    let result = unsafe { libc::lseek(fd, offset_arg, whence) };
    if result >= 0 {
        return Ok(Some(result as u64));
    }
    let error = io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::ENXIO) => Ok(None),
        Some(libc::EINVAL) if whence == libc::SEEK_DATA => Ok(Some(offset)),
        Some(libc::EINVAL) => Ok(None),
        _ => Err(error),
    }
}
