//! `kdump-flat records IN [--json]`: one line per record (index, position, offset, size) and the earlier
//! records whose bytes it overwrites (F14), printed as each record is read. The overwrites come from a
//! painter's map (`flat::OverlapTracker`) whose memory grows with the visible segments, not the records.
//! On a bad or cut stream the lines already printed stay (one per record whose header was read, the cut
//! record included), then a line saying where the list stops, no totals, and the error.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::ops::RangeInclusive;
use std::path::PathBuf;

use anyhow::anyhow;
use serde::Serialize;

use super::{count as count_of, CliResult, Failure};
use crate::flat::{FlatEvent, FlatFinding, FlatReader, OverlapTracker, ParseMode, ReadError};

/// Arguments of `records`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  kdump-flat records vmcore.flat
  kdump-flat records --json vmcore.flat | jq '.records[] | select(.overwrites != [])'

`overwrites` lists the earlier records whose still-visible bytes a record replaces (the later record wins,
as in makedumpfile -R; crash resolves overlaps differently).")]
pub struct Args {
    /// Flattened input, or `-` for standard input.
    pub input: PathBuf,
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
    /// Accept what `makedumpfile -R` accepts, with warnings.
    #[arg(long)]
    pub lenient: bool,
}

#[derive(Serialize)]
struct RecordLine<'a> {
    index: u64,
    position: u64,
    offset: u64,
    size: u64,
    overwrites: Overwrites<'a>,
}

/// The earlier records a record overwrites, kept as index ranges and written out one index at a time (a
/// record over a million earlier ones lists a million indices without holding them).
struct Overwrites<'a>(&'a [RangeInclusive<u64>]);

impl Overwrites<'_> {
    fn indices(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.iter().cloned().flatten()
    }
}

impl Serialize for Overwrites<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.indices())
    }
}

#[derive(Serialize)]
struct Totals<'a> {
    record_count: u64,
    overlapping_records: u64,
    reassembled_len: u64,
    stream_len: u64,
    warnings: Vec<&'a FlatFinding>,
    error: Option<&'a FlatFinding>,
}

/// Runs `records`.
pub fn run(args: Args) -> CliResult {
    let input: Box<dyn Read> = if args.input.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            File::open(&args.input)
                .map_err(|e| Failure::Io(anyhow!("cannot open {}: {e}", args.input.display())))?,
        )
    };
    let mode = if args.lenient {
        ParseMode::Lenient
    } else {
        ParseMode::Strict
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let mut reader = FlatReader::new(input, mode);
    let mut tracker = OverlapTracker::new();
    let mut reassembled_len = 0u64;
    if args.json {
        write!(out, "{{\n  \"records\": [")?;
    } else {
        writeln!(
            out,
            "{:>8}  {:>14}  {:>14}  {:>10}  overwrites",
            "record", "position", "offset", "size"
        )?;
    }
    let mut count = 0u64;
    let failure = loop {
        let record = match reader.next_event() {
            Ok(Some(FlatEvent::Record(record))) => record,
            Ok(Some(_)) => continue,
            Ok(None) => break None,
            Err(ReadError::Format(e)) => break Some(Ok(e)),
            Err(ReadError::Io(e)) => break Some(Err(e)),
        };
        let overwrites = tracker.add_ranges(&record);
        let overwrites = Overwrites(&overwrites);
        reassembled_len = reassembled_len.max(record.end());
        if args.json {
            // One record per line (compact), inside an indented document like the other --json outputs.
            write!(out, "{}\n    ", if count > 0 { "," } else { "" })?;
            let line = RecordLine {
                index: record.index,
                position: record.position,
                offset: record.offset,
                size: record.size,
                overwrites,
            };
            serde_json::to_writer(&mut out, &line).map_err(io::Error::other)?;
        } else {
            write!(
                out,
                "{:>8}  {:>#14x}  {:>#14x}  {:>#10x}",
                record.index, record.position, record.offset, record.size,
            )?;
            for (i, index) in overwrites.indices().enumerate() {
                write!(out, "{}{index}", if i == 0 { "  " } else { "," })?;
            }
            writeln!(out)?;
        }
        count += 1;
    };
    let io_error = match &failure {
        Some(Err(e)) => Some(anyhow!("cannot read {}: {e}", args.input.display())),
        _ => None,
    };
    let format_error = match failure {
        Some(Ok(e)) => Some(e),
        _ => None,
    };
    let warnings = reader.take_warnings();
    let totals = Totals {
        record_count: count,
        overlapping_records: tracker.overlapping_records(),
        reassembled_len,
        stream_len: reader.position(),
        warnings: warnings.iter().map(|w| &w.0).collect(),
        error: format_error.as_ref().map(|e| &e.0),
    };
    if args.json {
        writeln!(out, "{}],", if count > 0 { "\n  " } else { "" })?;
        let totals_json = serde_json::to_string_pretty(&totals).map_err(io::Error::other)?;
        writeln!(out, "{}", totals_json.trim_start_matches("{\n"))?;
    } else if format_error.is_some() || io_error.is_some() {
        // No totals: a length or count of a cut stream would read as the dump's.
        match totals.record_count.checked_sub(1) {
            Some(last) => writeln!(
                out,
                "the stream is invalid (error below): the list stops at record {last}"
            )?,
            None => writeln!(
                out,
                "the stream is invalid (error below): no record could be read"
            )?,
        }
    } else {
        writeln!(
            out,
            "{}, {} overwrite earlier ones; reassembled length {:#x} ({} bytes); stream length {}",
            count_of(totals.record_count, "record"),
            totals.overlapping_records,
            totals.reassembled_len,
            totals.reassembled_len,
            totals.stream_len
        )?;
    }
    out.flush()?;
    drop(out);
    for warning in &warnings {
        eprintln!("kdump-flat: warning: {warning}");
    }
    if let Some(e) = io_error {
        return Err(Failure::Io(e));
    }
    match format_error {
        Some(e) => Err(Failure::Invalid(e.into())),
        None => Ok(()),
    }
}
