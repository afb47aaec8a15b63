//! `kdump-flat to-elf DUMP... OUT`: a kdump-compressed dump (raw, flattened, or the files of a split set)
//! as an ELF vmcore laid out as QEMU's `dump-guest-memory` ELF dump; see [`crate::to_elf`].

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::anyhow;

use super::dump_input::open_inputs;
use super::progress::Progress;
use super::{CliResult, Failure};
use crate::kdump::{KdumpFile, KdumpSet};
use crate::output::AtomicOutput;
use crate::readat::ReadAt;
use crate::sink::{DumpSink, RawSink};
use crate::to_elf::{
    plan, write_elf, ElfPlan, ToElfError, ToElfOptions, ToElfSummary, ZeroFillSink,
};

/// Arguments of `to-elf`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  kdump-flat to-elf vmcore vmcore.elf                      raw or flattened kdump -> ELF
  kdump-flat to-elf vmcore.1 vmcore.2 vmcore.elf           a makedumpfile --split set
  kdump-flat to-elf vmcore.flat - | gzip > vmcore.elf.gz   to standard output (holes written as zeros)
  kdump-flat to-elf fw.kdump-zlib.flat fw.elf \\
      --blocks 0-0xa0000,0xc0000-0xe0000,0xe0000-0x100000,0x100000-0x1000000,0xfffc0000-0x100000000
                                                           QEMU's own blocks: its ELF dump byte for byte

The ELF file is laid out as QEMU's dump-guest-memory ELF dump (section headers before the program headers,
one PT_NOTE, PT_LOADs with p_vaddr = p_paddr). Zero pages are holes (sparse file). Pages the dump left
out are not stored, as makedumpfile -E does it: a run of 256 or more ends a PT_LOAD whose p_memsz still
covers it; shorter runs are zeros in the file. ELF readers read excluded pages as zeros.

Exit status: 0 ok, 1 invalid dump, 2 usage (options that do not fit the dump) or I/O error.")]
pub struct Args {
    /// The dump (raw or flattened; `-` for standard input) or every file of a split set, then the output
    /// ELF file (`-` for standard output; must not exist unless --force).
    #[arg(required = true, num_args = 2.., value_name = "DUMP... OUT")]
    pub paths: Vec<PathBuf>,
    /// QEMU's memory blocks, `START-END,...` (guest-physical bytes, hex with 0x or decimal, END
    /// exclusive): a kdump file keeps pages, not where QEMU's blocks meet. Default: one block per run of
    /// pages in memory.
    #[arg(long, value_parser = parse_blocks, value_name = "RANGES")]
    pub blocks: Option<Blocks>,
    /// `e_machine` (a number: 62 x86-64, 3 i386, 183 AArch64, 21 PPC64, 22 s390). Default: from
    /// utsname.machine and the NT_PRSTATUS notes.
    #[arg(long, value_parser = parse_number, value_name = "N")]
    pub elf_machine: Option<u64>,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print a JSON summary on standard output.
    #[arg(long)]
    pub json: bool,
}

/// A list of [start, end) block ranges from the command line.
#[derive(Debug, Clone)]
pub struct Blocks(pub Vec<(u64, u64)>);

fn parse_number(text: &str) -> Result<u64, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|e| format!("not a number: {text} ({e})"))
}

fn parse_blocks(text: &str) -> Result<Blocks, String> {
    text.split(',')
        .map(|range| {
            let (start, end) = range
                .split_once('-')
                .ok_or_else(|| format!("{range:?} is not START-END"))?;
            Ok((parse_number(start.trim())?, parse_number(end.trim())?))
        })
        .collect::<Result<Vec<_>, String>>()
        .map(Blocks)
}

/// Runs `to-elf`.
pub fn run(args: Args) -> CliResult {
    let Some((output_path, dump_paths)) = args.paths.split_last() else {
        return Err(Failure::Io(anyhow!("give the dump, then the output file")));
    };
    let to_stdout = output_path.as_os_str() == "-";
    if to_stdout && args.json {
        return Err(Failure::Io(anyhow!(
            "--json prints on standard output, which already carries the ELF file: give an output file"
        )));
    }
    let machine = match args.elf_machine {
        Some(n) => Some(
            u16::try_from(n)
                .map_err(|_| Failure::Io(anyhow!("--elf-machine {n} is not a 16-bit value")))?,
        ),
        None => None,
    };
    let options = ToElfOptions {
        blocks: args.blocks.clone().map(|b| b.0),
        machine,
    };
    let mut output = match to_stdout {
        true => None,
        false => Some(AtomicOutput::create(output_path, args.force)?),
    };
    let inputs = open_inputs(dump_paths)?;
    let files = inputs
        .iter()
        .zip(dump_paths)
        .map(|(input, path)| {
            KdumpFile::open(&*input.source.reader as &dyn ReadAt)
                .map_err(|e| Failure::from(e).in_file(path))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let set = KdumpSet::new(files)?;
    let plan = plan(&set, &options).map_err(failure)?;
    let summary = match output.as_mut() {
        Some(out) => {
            let mut sink = RawSink::new(BufWriter::with_capacity(1 << 20, out.file()));
            let summary = convert(&set, &plan, &mut sink)?;
            sink.into_inner().flush()?;
            summary
        }
        None => {
            let mut sink =
                ZeroFillSink::new(BufWriter::with_capacity(1 << 20, io::stdout().lock()));
            convert(&set, &plan, &mut sink)?
        }
    };
    if let Some(out) = output {
        out.commit()?;
    }
    report(&args, &summary);
    Ok(())
}

fn convert<R: ReadAt>(
    set: &KdumpSet<R>,
    plan: &ElfPlan,
    sink: &mut dyn DumpSink,
) -> Result<ToElfSummary, Failure> {
    let progress = Progress::bytes("to-elf", Some(plan.layout.file_len()));
    let offsets = plan.layout.segment_offsets();
    let segments = &plan.layout.segments;
    // Progress in output bytes: the file offset of the guest-physical address reached.
    let at = |addr: u64| {
        let index = segments
            .partition_point(|s| s.phys_addr <= addr)
            .saturating_sub(1);
        match (segments.get(index), offsets.get(index)) {
            (Some(s), Some(&offset)) => offset + (addr - s.phys_addr).min(s.file_size),
            _ => 0,
        }
    };
    let result = write_elf(set, plan, sink, &|addr| progress.set(at(addr)));
    progress.finish();
    result.map_err(failure)
}

fn failure(error: ToElfError) -> Failure {
    match error {
        ToElfError::Kdump(e) => Failure::from(e),
        ToElfError::Io { .. } | ToElfError::Options(_) => Failure::Io(anyhow!(error)),
        ToElfError::Input(_) => Failure::Invalid(anyhow!(error)),
    }
}

fn report(args: &Args, summary: &ToElfSummary) {
    if args.json {
        match serde_json::to_string_pretty(summary) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("kdump-flat: cannot print the summary: {e}"),
        }
    } else {
        eprintln!(
            "to-elf: {} bytes, e_machine {}, {} PT_LOAD from {} blocks, {} note bytes; {} pages dumped \
             ({} written, {} zero as holes), {} excluded ({} as zeros in the file, the rest past p_filesz)",
            summary.file_len,
            summary.machine,
            summary.segments,
            summary.blocks,
            summary.note_bytes,
            summary.pages.dumped,
            summary.pages.written,
            summary.pages.zero,
            summary.excluded_pages,
            summary.excluded_pages_in_file
        );
    }
}
