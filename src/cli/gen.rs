//! `kdump-flat gen (--seed S | --layout FILE) OUT [--flat] [--force]`: writes a model dump, raw or
//! flattened, so other tools (crash, libkdumpfile, drgn) can be tried on it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::model::gen::{layout_from_seed, SizeClass};
use crate::model::{write_layout, Layout};
use crate::output::AtomicOutput;
use crate::sink::{DumpSink, FlatSink, RawSink};

use super::{CliResult, Failure};

/// Arguments of `gen`.
#[derive(clap::Args, Debug)]
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

/// Runs `gen`.
pub fn run(args: Args) -> CliResult {
    let layout = match (&args.layout, args.seed) {
        (Some(path), _) => read_layout(path)?,
        (None, Some(seed)) => layout_from_seed(seed, args.size),
        (None, None) => unreachable!("clap requires --seed or --layout"),
    };
    let bytes = if args.flat {
        let mut sink = FlatSink::new(Vec::new());
        write_layout(&layout, &mut sink as &mut dyn DumpSink)
            .map_err(|e| Failure::Invalid(e.into()))?;
        sink.into_inner()
    } else {
        let mut sink = RawSink::in_memory();
        write_layout(&layout, &mut sink as &mut dyn DumpSink)
            .map_err(|e| Failure::Invalid(e.into()))?;
        sink.into_bytes()
    };
    if let Some(path) = &args.save_layout {
        write_file(path, args.force, |f| {
            serde_json::to_writer_pretty(&mut *f, &layout)?;
            f.write_all(b"\n")?;
            Ok(())
        })?;
    }
    if args.output.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&bytes)?;
        stdout.flush()?;
    } else {
        write_file(&args.output, args.force, |f| Ok(f.write_all(&bytes)?))?;
    }
    eprintln!(
        "kdump-flat gen: {} ({} bytes, {})",
        layout.summary(),
        bytes.len(),
        if args.flat { "flattened" } else { "raw" }
    );
    Ok(())
}

fn write_file(
    path: &std::path::Path,
    force: bool,
    fill: impl FnOnce(&mut std::fs::File) -> anyhow::Result<()>,
) -> CliResult {
    let mut out = AtomicOutput::create(path, force).map_err(|e| Failure::Io(e.into()))?;
    fill(out.file()).map_err(Failure::Io)?;
    out.commit().map_err(|e| Failure::Io(e.into()))
}
