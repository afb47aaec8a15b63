//! `kdump-flat diff A B [--memory] [--json] [--limit N]`: how two dumps differ, structure by structure.
//! Exit status as diff(1) and cmp(1): 0 no difference, 1 differences, 2 trouble (a side unreadable or
//! invalid, usage).

use std::io::Write;
use std::path::PathBuf;

use anyhow::anyhow;

use super::dump_input::open_input;
use super::progress::Progress;
use super::{CliResult, Failure};
use crate::diff::{diff, render_text, DiffMode, DiffOptions, Side};

/// A spooled copy of standard input, kept while its side is read.
type Spool = Option<crate::output::SpoolFile>;

const EXAMPLES: &str = "\
Examples:
  kdump-flat diff vmcore.flat vmcore            same bytes after reassembly? if not, what differs
  kdump-flat diff qemu.kdump mdf.kdump --json   every header field, note, bitmap range, descriptor, page
  kdump-flat diff --memory vmcore.elf vmcore    guest memory and notes only (ELF on either side)
  kdump-flat diff dump.1,dump.2 vmcore          a makedumpfile --split set (comma-separated) on one side

Exit status: 0 no difference (at the level asked), 1 differences, 2 trouble (a side unreadable or
invalid: which side, and what check found).
";

/// Arguments of `diff`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Side A: a kdump file (raw or flattened), a QEMU ELF dump, or the files of a split set separated
    /// by commas; `-` for standard input (one side only).
    pub a: String,
    /// Side B, as A.
    pub b: String,
    /// Compare only guest memory and notes (page for page; pages on one side only counted as ranges).
    #[arg(long)]
    pub memory: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Differences listed per structure (all are counted).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub limit: usize,
}

/// The files of one side: comma-separated paths.
fn side_paths(arg: &str) -> Vec<PathBuf> {
    arg.split(',')
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// Opens the files of side `label`: a failure is trouble (exit 2) naming the side.
fn open_side(label: &'static str, paths: &[PathBuf]) -> Result<(Side, Vec<Spool>), Failure> {
    if paths.is_empty() {
        return Err(Failure::Io(anyhow!("side {label}: no file given")));
    }
    let mut files = Vec::new();
    let mut spools = Vec::new();
    for path in paths {
        let input = open_input(path).map_err(|failure| {
            let (Failure::Invalid(e) | Failure::Io(e)) = failure;
            Failure::Io(anyhow!("side {label} cannot be compared: {e:#}"))
        })?;
        let (source, spool) = input.into_parts();
        files.push((path.display().to_string(), source));
        spools.push(spool);
    }
    let side = Side::open(label, files).map_err(|trouble| Failure::Io(trouble.into()))?;
    Ok((side, spools))
}

/// Runs `diff`.
pub fn run(args: Args) -> CliResult {
    let (paths_a, paths_b) = (side_paths(&args.a), side_paths(&args.b));
    let stdin_uses = paths_a
        .iter()
        .chain(&paths_b)
        .filter(|p| p.as_os_str() == "-")
        .count();
    if stdin_uses > 1 {
        return Err(Failure::Io(anyhow!(
            "standard input (-) can be only one file of one side"
        )));
    }
    let (side_a, _spool_a) = open_side("A", &paths_a)?;
    let (side_b, _spool_b) = open_side("B", &paths_b)?;
    let options = DiffOptions {
        mode: if args.memory {
            DiffMode::Memory
        } else {
            DiffMode::Structure
        },
        limit: args.limit,
    };
    let progress = Progress::bytes("diff", Some(total_length(&side_a, &side_b)));
    let scale = total_length(&side_a, &side_b);
    let report = diff(&side_a, &side_b, &options, &|done, total| {
        if total > 0 {
            progress.set((scale as u128 * done as u128 / total as u128) as u64);
        }
    });
    progress.finish();
    let report = report.map_err(|e| Failure::Io(e.into()))?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &report).map_err(|e| Failure::Io(e.into()))?;
        writeln!(stdout)?;
    } else {
        write!(stdout, "{}", render_text(&report))?;
    }
    stdout.flush()?;
    if report.is_same() {
        Ok(())
    } else {
        Err(Failure::Invalid(anyhow!(
            "A and B differ: {} difference(s)",
            report.difference_total()
        )))
    }
}

fn total_length(a: &Side, b: &Side) -> u64 {
    a.info.lengths.iter().chain(&b.info.lengths).sum()
}
