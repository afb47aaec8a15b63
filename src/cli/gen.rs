//! `kdump-flat gen (--seed S | --layout FILE) OUT [--flat | --elf] [--force]`: writes a model dump, raw,
//! flattened or as QEMU's ELF dump of the same guest, so other tools (crash, libkdumpfile, drgn) can be tried on it. A layout written with
//! makedumpfile's `--split` (its `mode.split`) gives a set: OUT.1 … OUT.N, in pfn order.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::model::gen::{layout_from_seed, SizeClass};
use crate::model::qemu_elf::write_layout_elf;
use crate::model::{write_layout, write_layout_part, Layout, WriteError, WriteSummary};
use crate::output::{AtomicOutput, NamedWriter};
use crate::sink::{DumpSink, FlatSink, RawSink};

use super::{CliResult, Failure};

/// Arguments of `gen`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  kdump-flat gen --seed 42 model.kdump
  kdump-flat gen --seed 42 --size large --flat model.flat --save-layout model.json
  kdump-flat gen --layout model.json - | kdump-flat info -

A layout written with makedumpfile's --split (\"mode\": {\"split\": ...} in \
the layout file; some seeds give one) is a set of N files: gen writes OUT.1 ... OUT.N (pfn order), \
each refused if it exists unless --force; OUT cannot be - then. `kdump-flat join OUT.1 ... OUT.N \
JOINED` joins them.")]
#[command(group(clap::ArgGroup::new("source").required(true).args(["seed", "layout"])))]
pub struct Args {
    /// Generate a random layout from this seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Size class of the random layout.
    #[arg(long, value_enum, default_value_t = SizeClass::Small)]
    pub size: SizeClass,
    /// Read the layout from this JSON file (as `--save-layout` or a selftest reproducer writes it).
    #[arg(long)]
    pub layout: Option<PathBuf>,
    /// Output file, or `-` for standard output.
    pub output: PathBuf,
    /// Write the flattened form instead of the raw kdump-compressed file.
    #[arg(long)]
    pub flat: bool,
    /// Write the ELF dump QEMU would write of the layout's guest (`dump-guest-memory` `format: elf`: every
    /// page of every block, whatever the dump level; one file even for a --split layout) instead.
    #[arg(long, conflicts_with = "flat")]
    pub elf: bool,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// Also write the layout as JSON to this file.
    #[arg(long)]
    pub save_layout: Option<PathBuf>,
}

/// Reads a layout file and checks it.
pub fn read_layout(path: &std::path::Path) -> Result<Layout, Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read layout {}", path.display()))
        .map_err(Failure::Io)?;
    let layout: Layout = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a layout", path.display()))
        .map_err(Failure::Invalid)?;
    layout
        .validate()
        .with_context(|| format!("layout {} cannot be written", path.display()))
        .map_err(Failure::Invalid)?;
    Ok(layout)
}

/// Writes one of the layout's files (`part`: the file of a split set) through a raw or flattened sink.
fn file_bytes(layout: &Layout, part: Option<usize>, flat: bool) -> Result<Vec<u8>, Failure> {
    let write = |sink: &mut dyn DumpSink| -> Result<WriteSummary, WriteError> {
        match part {
            Some(index) => write_layout_part(layout, index, sink),
            None => write_layout(layout, sink),
        }
    };
    if flat {
        let mut sink = FlatSink::new(Vec::new());
        write(&mut sink).map_err(|e| Failure::Invalid(e.into()))?;
        Ok(sink.into_inner())
    } else {
        let mut sink = RawSink::in_memory();
        write(&mut sink).map_err(|e| Failure::Invalid(e.into()))?;
        Ok(sink.into_bytes())
    }
}

/// The name of file `index` (0-based) of a split set written to `output`: `OUTPUT.<index + 1>`.
pub fn part_path(output: &std::path::Path, index: usize) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(format!(".{}", index + 1));
    PathBuf::from(name)
}

/// Runs `gen`.
pub fn run(args: Args) -> CliResult {
    let layout = match (&args.layout, args.seed) {
        (Some(path), _) => read_layout(path)?,
        (None, Some(seed)) => layout_from_seed(seed, args.size),
        (None, None) => unreachable!("clap requires --seed or --layout"),
    };
    let files = if args.elf { 1 } else { layout.file_count() };
    if files > 1 && args.output.as_os_str() == "-" {
        return Err(Failure::Io(anyhow::anyhow!(
            "the layout is written with --split as {files} files: give a file name (OUT.1 ... OUT.{files} \
             are written), not -"
        )));
    }
    let contents: Vec<Vec<u8>> = if args.elf {
        let mut sink = RawSink::in_memory();
        write_layout_elf(&layout, &mut sink).map_err(|e| Failure::Invalid(e.into()))?;
        vec![sink.into_bytes()]
    } else if files > 1 {
        (0..files)
            .map(|i| file_bytes(&layout, Some(i), args.flat))
            .collect::<Result<_, _>>()?
    } else {
        vec![file_bytes(&layout, None, args.flat)?]
    };
    if let Some(path) = &args.save_layout {
        write_file(path, args.force, |f| {
            serde_json::to_writer_pretty(&mut *f, &layout)?;
            f.write_all(b"\n")?;
            Ok(())
        })?;
    }
    if args.output.as_os_str() == "-" {
        let mut stdout = NamedWriter::new(std::io::stdout().lock(), "standard output");
        stdout.write_all(&contents[0])?;
        stdout.flush()?;
    } else if files == 1 {
        write_file(&args.output, args.force, |f| Ok(f.write_all(&contents[0])?))?;
    } else {
        // Every file is written before any is renamed into place, so a refusal or a write error leaves
        // none of them.
        let mut outputs = Vec::with_capacity(files);
        for (i, bytes) in contents.iter().enumerate() {
            let mut out = AtomicOutput::create_stream(&part_path(&args.output, i), args.force)
                .map_err(|e| Failure::Io(e.into()))?;
            out.named_file().write_all(bytes)?;
            outputs.push(out);
        }
        for out in outputs {
            out.commit().map_err(|e| Failure::Io(e.into()))?;
        }
    }
    let total: usize = contents.iter().map(Vec::len).sum();
    eprintln!(
        "kdump-flat gen: {} ({} bytes, {}{})",
        layout.summary(),
        total,
        if args.elf {
            "QEMU ELF"
        } else if args.flat {
            "flattened"
        } else {
            "raw"
        },
        if files > 1 {
            format!(
                ", {files} files {}.1 ... {0}.{files}",
                args.output.display()
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

fn write_file(
    path: &std::path::Path,
    force: bool,
    fill: impl FnOnce(&mut NamedWriter<&mut std::fs::File>) -> anyhow::Result<()>,
) -> CliResult {
    let mut out = AtomicOutput::create_stream(path, force).map_err(|e| Failure::Io(e.into()))?;
    fill(&mut out.named_file()).map_err(Failure::Io)?;
    out.commit().map_err(|e| Failure::Io(e.into()))
}
