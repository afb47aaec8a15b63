//! `kdump-flat read FILE... (--pfn N | --phys ADDR --len N | --offset OFF --len N) [-o OUT]`: guest-physical
//! bytes of a kdump-compressed dump or split set, or bytes of one file as reassembled.

use std::io::Write;
use std::path::PathBuf;

use anyhow::anyhow;

use super::dump_input::open_inputs;
use super::{CliResult, Failure};
use crate::kdump::{KdumpError, KdumpFile, KdumpSet};
use crate::output::{AtomicOutput, NamedWriter};
use crate::readat::ReadAt;

/// Bytes produced per step (bounded memory whatever `--len` says).
const STEP: u64 = 1 << 20;

/// Parses a decimal or `0x`-prefixed hexadecimal number.
pub fn parse_number(text: &str) -> Result<u64, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|e| format!("{text:?} is not a number: {e}"))
}

/// Arguments of `read`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  kdump-flat read vmcore --pfn 0x1234 -o page.bin
  kdump-flat read vmcore --phys 0x100000 --len 4096 --zero-excluded | xxd | head
  kdump-flat read vmcore.flat --offset 0 --len 464       bytes of the file as reassembled
  kdump-flat read vmcore.2 vmcore.1 --phys 0x3ff00000 --len 0x200000")]
#[command(group(clap::ArgGroup::new("what").required(true).args(["pfn", "phys", "offset"])))]
pub struct Args {
    /// The dump (raw or flattened), or every file of one split set in any order (`makedumpfile --split`).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// One whole page, by page frame number.
    #[arg(long, value_parser = parse_number)]
    pub pfn: Option<u64>,
    /// Guest-physical address (needs --len).
    #[arg(long, value_parser = parse_number, requires = "len")]
    pub phys: Option<u64>,
    /// Offset in the file as reassembled (needs --len); works on any file.
    #[arg(long, value_parser = parse_number, requires = "len")]
    pub offset: Option<u64>,
    /// Number of bytes.
    #[arg(long, value_parser = parse_number)]
    pub len: Option<u64>,
    /// Output file (`-` or absent: standard output).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Read pages left out of the dump (excluded, or not memory) as zeros instead of failing.
    #[arg(long)]
    pub zero_excluded: bool,
}

/// Invalid input (exit 1) for every problem but a failed read: in `read`, a page the dump does not hold
/// (another part's, or beyond the dump) is a fact about the input asked for.
fn kdump_failure(e: KdumpError) -> Failure {
    if matches!(e, KdumpError::Io { .. }) {
        Failure::Io(e.into())
    } else {
        Failure::Invalid(e.into())
    }
}

/// Runs `read`.
pub fn run(args: Args) -> CliResult {
    if args.pfn.is_some() && args.len.is_some() {
        return Err(Failure::Io(anyhow!(
            "--len goes with --phys or --offset; --pfn reads one whole page"
        )));
    }
    if args.files.len() > 1 && args.offset.is_some() {
        return Err(Failure::Io(anyhow!(
            "--offset reads bytes of one file; give only one"
        )));
    }
    let inputs = open_inputs(&args.files)?;
    let mut output = match &args.output {
        Some(path) if path.as_os_str() != "-" => {
            Some(AtomicOutput::create_stream(path, args.force)?)
        }
        _ => None,
    };
    {
        let mut sink: Box<dyn Write + '_> = match output.as_mut() {
            Some(out) => Box::new(out.named_file()),
            None => Box::new(NamedWriter::new(
                std::io::stdout().lock(),
                "standard output",
            )),
        };
        let sink = &mut *sink;
        if let Some(offset) = args.offset {
            let reader: &dyn ReadAt = &*inputs[0].source.reader;
            copy_file_bytes(reader, offset, args.len.unwrap_or(0), sink)?;
        } else {
            let files = inputs
                .iter()
                .zip(&args.files)
                .map(|(input, path)| {
                    KdumpFile::open(&*input.source.reader as &dyn ReadAt)
                        .map_err(|e| kdump_failure(e).in_file(path))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let dump = KdumpSet::new(files).map_err(kdump_failure)?;
            let (addr, len) = match (args.pfn, args.phys) {
                (Some(pfn), _) => (
                    pfn.checked_mul(dump.page_size())
                        .ok_or_else(|| Failure::Io(anyhow!("pfn {pfn:#x} is out of range")))?,
                    dump.page_size(),
                ),
                (None, Some(addr)) => (addr, args.len.unwrap_or(0)),
                (None, None) => unreachable!("clap requires one of --pfn, --phys, --offset"),
            };
            copy_phys_bytes(&dump, addr, len, args.zero_excluded, sink)?;
        }
        sink.flush()?;
    }
    if let Some(out) = output {
        out.commit()?;
    }
    Ok(())
}

fn copy_file_bytes(reader: &dyn ReadAt, offset: u64, len: u64, sink: &mut dyn Write) -> CliResult {
    let size = reader.size()?;
    let end = offset
        .checked_add(len)
        .ok_or_else(|| Failure::Io(anyhow!("offset + len overflows")))?;
    if end > size {
        return Err(Failure::Invalid(anyhow!(
            "[{offset:#x}, {end:#x}) is beyond the end of the file ({size:#x} bytes)"
        )));
    }
    let mut buf = vec![0u8; len.min(STEP) as usize];
    let mut at = offset;
    while at < end {
        let n = (end - at).min(STEP) as usize;
        reader.read_exact_at(at, &mut buf[..n])?;
        sink.write_all(&buf[..n])?;
        at += n as u64;
    }
    Ok(())
}

fn copy_phys_bytes<R: ReadAt>(
    dump: &KdumpSet<R>,
    addr: u64,
    len: u64,
    zero_excluded: bool,
    sink: &mut dyn Write,
) -> CliResult {
    addr.checked_add(len)
        .ok_or_else(|| Failure::Io(anyhow!("address + len overflows")))?;
    let mut buf = vec![0u8; len.min(STEP) as usize];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(STEP) as usize;
        dump.read_phys(addr + done, &mut buf[..n], zero_excluded)
            .map_err(|e| match e {
                KdumpError::NoData { .. } => Failure::Invalid(anyhow!(
                    "{e} (use --zero-excluded to read such pages as zeros)"
                )),
                other => kdump_failure(other),
            })?;
        sink.write_all(&buf[..n])?;
        done += n as u64;
    }
    Ok(())
}
