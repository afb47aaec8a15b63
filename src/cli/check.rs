//! `kdump-flat check FILE... [--json]`: every invariant K1–K18 of a kdump-compressed file or split set.

use std::io::Write;
use std::path::PathBuf;

use anyhow::anyhow;

use super::dump_input::open_inputs;
use super::progress::Progress;
use super::{CliResult, Failure};
use crate::kdump::check::{check_with_progress, CheckReport};
use crate::readat::ReadAt;

/// Arguments of `check`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  kdump-flat check vmcore
  kdump-flat check vmcore.flat --json          a flattened dump, read in place
  kdump-flat check vmcore.1 vmcore.2 vmcore.3   a makedumpfile --split set, as one dump

Exit status: 0 valid (warnings allowed), 1 invariant violation(s), 2 usage or I/O error.")]
pub struct Args {
    /// The dump, or every file of one split set (raw or flattened).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `check`: exit 0 if valid, 1 if an invariant is violated, 2 on usage or I/O errors.
pub fn run(args: Args) -> CliResult {
    let sources = open_inputs(&args.files)?;
    let readers: Vec<&dyn ReadAt> = sources
        .iter()
        .map(|s| &*s.source.reader as &dyn ReadAt)
        .collect();
    let total: u64 = readers.iter().map(|r| r.size().unwrap_or(0)).sum();
    let progress = Progress::bytes("check", Some(total));
    let report = check_with_progress(&readers, &|done| progress.set(done));
    progress.finish();
    let names: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let value = serde_json::json!({
            "files": names,
            "valid": report.is_valid(),
            "report": report,
        });
        serde_json::to_writer_pretty(&mut stdout, &value).map_err(|e| Failure::Io(e.into()))?;
        writeln!(stdout)?;
    } else {
        write!(stdout, "{}", render_text(&report, &names))?;
    }
    if !report.io_errors.is_empty() {
        return Err(Failure::Io(anyhow!(
            "the check could not read everything: {}",
            report.io_errors.join("; ")
        )));
    }
    if report.is_valid() {
        Ok(())
    } else {
        Err(Failure::Invalid(anyhow!(
            "{} invariant violation(s)",
            report.violation_total()
        )))
    }
}

/// The human-readable report.
pub fn render_text(report: &CheckReport, names: &[String]) -> String {
    let mut text = String::new();
    let s = &report.stats;
    for (i, name) in names.iter().enumerate() {
        text.push_str(&format!("file {i}: {name}\n"));
    }
    text.push_str(&format!(
        "pages: {} in memory, {} dumped ({} zero, {} compressed, {} raw), {} excluded; \
         {} decompressed ({} bytes of page data)\n",
        s.pages.in_memory,
        s.pages.dumped,
        s.pages.zero,
        s.pages.compressed,
        s.pages.raw,
        s.pages.excluded,
        s.pages_decompressed,
        s.data_bytes
    ));
    for (id, count) in &report.warning_counts {
        text.push_str(&format!("warning {id} ({count}x): {}\n", id.description()));
    }
    for w in &report.warnings {
        text.push_str(&format!("  warning [file {}] {w}\n", w.file));
    }
    if report.is_valid() {
        text.push_str("VALID: K1-K18 hold\n");
        return text;
    }
    let summary: Vec<String> = report
        .violation_counts
        .iter()
        .map(|(id, n)| format!("{id}: {n}"))
        .collect();
    text.push_str(&format!(
        "INVALID: {} violation(s) ({})\n",
        report.violation_total(),
        summary.join(", ")
    ));
    for v in &report.violations {
        text.push_str(&format!("  [file {}] {v}\n", v.file));
    }
    for (id, count) in &report.violation_counts {
        let shown = report.violations.iter().filter(|v| v.id == *id).count() as u64;
        if *count > shown {
            text.push_str(&format!(
                "  ... {} more {id} violation(s) not shown\n",
                count - shown
            ));
        }
    }
    text
}
