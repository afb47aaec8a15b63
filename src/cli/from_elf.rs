//! `kdump-flat from-elf ELF OUT [--flat] [--compress METHOD] [--force]`: a QEMU ELF dump to a
//! kdump-compressed dump, written as QEMU's `dump-guest-memory` would have written it (makedumpfile
//! cannot read QEMU's ELF dumps: "Can't get the number of PT_LOAD").

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use anyhow::{anyhow, Context};

use super::{CliResult, Failure};
use crate::compress::Compression;
use crate::elf::ElfDump;
use crate::from_elf::{write_kdump_from_elf, FromElfError, FromElfOptions, QEMU_UNKNOWN_MACHINE};
use crate::model::{WriteError, WriteSummary};
use crate::output::{AtomicOutput, NamedWriter};
use crate::sink::{DumpSink, FlatSink, RawSink};

/// Arguments of `from-elf`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  kdump-flat from-elf vmcore.elf vmcore                   as QEMU 10 kdump-raw-zlib
  kdump-flat from-elf vmcore.elf vmcore.flat --flat --uts-machine x86_64   as QEMU 7.2 kdump-zlib
  kdump-flat from-elf vmcore.elf - --flat | ssh host 'cat > vmcore.flat'")]
pub struct Args {
    /// QEMU ELF dump (`dump-guest-memory` with `format: elf`, or the `-f elf` default); must be a file.
    pub input: PathBuf,
    /// Output file; `-` writes to standard output (needs --flat: a raw dump must be seekable).
    pub output: PathBuf,
    /// Write makedumpfile's flattened format (QEMU's `kdump-zlib`) instead of a raw file
    /// (QEMU's `kdump-raw-zlib`).
    #[arg(long)]
    pub flat: bool,
    /// Page compression. QEMU itself offers zlib, lzo and snappy; none and zstd give valid dumps that QEMU
    /// cannot write.
    #[arg(long, value_enum, default_value_t = Compression::Zlib)]
    pub compress: Compression,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// `utsname.machine` of the header: QEMU >= 8.0 writes "Unknown", QEMU <= 7.2 the target name
    /// ("x86_64" for qemu-system-x86_64).
    #[arg(long, default_value = QEMU_UNKNOWN_MACHINE, value_name = "NAME")]
    pub uts_machine: String,
    /// Target page size = kdump block size.
    #[arg(long, default_value_t = 4096, value_name = "BYTES")]
    pub page_size: u64,
    /// `phys_base` for the sub-header (default: read from the VMCOREINFO note exactly as QEMU does).
    #[arg(long, value_parser = parse_number, value_name = "N")]
    pub phys_base: Option<u64>,
    /// Print a JSON summary on standard output.
    #[arg(long)]
    pub json: bool,
}

fn parse_number(text: &str) -> Result<u64, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|e| format!("not a number: {text} ({e})"))
}

/// Runs `from-elf`.
pub fn run(args: Args) -> CliResult {
    if args.input.as_os_str() == "-" {
        return Err(Failure::Io(anyhow!(
            "from-elf reads the ELF dump at random offsets: give a file, not standard input"
        )));
    }
    let to_stdout = args.output.as_os_str() == "-";
    if to_stdout && !args.flat {
        return Err(Failure::Io(anyhow!(
            "a raw kdump file must be seekable: write it to a file, or use --flat for standard output"
        )));
    }
    if to_stdout && args.json {
        return Err(Failure::Io(anyhow!(
            "--json prints on standard output, which already carries the dump: give an output file"
        )));
    }
    // O_NONBLOCK: a FIFO is refused below instead of waiting for a writer.
    let source = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&args.input)
        .with_context(|| format!("cannot open {}", args.input.display()))
        .map_err(Failure::Io)?;
    let is_file = source
        .metadata()
        .with_context(|| format!("cannot inspect {}", args.input.display()))
        .map_err(Failure::Io)?
        .is_file();
    if !is_file {
        return Err(Failure::Io(anyhow!(
            "{} is not a regular file: from-elf reads the ELF dump at random offsets",
            args.input.display()
        )));
    }
    let dump = ElfDump::parse(&source)
        .with_context(|| format!("{} is not a usable ELF dump", args.input.display()))
        .map_err(Failure::Invalid)?;
    let options = FromElfOptions {
        compression: args.compress,
        page_size: args.page_size,
        uts_machine: args.uts_machine.clone(),
        phys_base: args.phys_base,
    };

    let summary = if to_stdout {
        let stdout = NamedWriter::new(io::stdout().lock(), "standard output");
        let mut sink = FlatSink::new(BufWriter::with_capacity(1 << 20, stdout));
        let summary = convert(&source, &dump, &options, &mut sink)?;
        sink.into_inner().flush()?;
        summary
    } else {
        let mut output = if args.flat {
            AtomicOutput::create_stream(&args.output, args.force)?
        } else {
            AtomicOutput::create(&args.output, args.force)?
        };
        let summary = if args.flat {
            let mut sink = FlatSink::new(BufWriter::with_capacity(1 << 20, output.named_file()));
            let summary = convert(&source, &dump, &options, &mut sink)?;
            sink.into_inner().flush()?;
            summary
        } else {
            let mut sink = RawSink::new(BufWriter::with_capacity(1 << 20, output.named_file()));
            let summary = convert(&source, &dump, &options, &mut sink)?;
            sink.into_inner().flush()?;
            summary
        };
        output.commit()?;
        summary
    };
    report(&args, &dump, &summary)
}

fn convert(
    source: &File,
    dump: &ElfDump,
    options: &FromElfOptions,
    sink: &mut dyn DumpSink,
) -> Result<WriteSummary, Failure> {
    write_kdump_from_elf(source, dump, options, sink).map_err(|e| match e {
        FromElfError::Write(WriteError::Io(io)) => Failure::Io(anyhow!(io)),
        other => Failure::Invalid(anyhow!(other)),
    })
}

fn report(args: &Args, dump: &ElfDump, summary: &WriteSummary) -> CliResult {
    if args.json {
        let value = serde_json::json!({
            "input": args.input,
            "output": args.output,
            "form": if args.flat { "flattened" } else { "raw" },
            "compression": args.compress.name(),
            "memory_blocks": dump.blocks.len(),
            "cpus": dump.cpu_count(),
            "vmcoreinfo": dump.vmcoreinfo().is_some(),
            "max_mapnr": summary.max_mapnr,
            "dumped_pages": summary.dumped_pages,
            "zero_pages": summary.zero_pages,
            "compressed_pages": summary.compressed_pages,
            "raw_size": summary.end,
            "writes": summary.writes,
        });
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{value:#}").map_err(|e| Failure::Io(e.into()))?;
    } else {
        eprintln!(
            "from-elf: {} memory blocks, {} pages ({} zero, {} compressed with {}), {} writes; raw size {} bytes",
            dump.blocks.len(),
            summary.dumped_pages,
            summary.zero_pages,
            summary.compressed_pages,
            args.compress.name(),
            summary.writes,
            summary.end
        );
    }
    Ok(())
}
