//! `kdump-flat join PART... OUT`: the files of a `makedumpfile --split` set joined into one
//! kdump-compressed file, byte for byte what `makedumpfile --reassemble PART... OUT` writes.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::anyhow;

use super::dump_input::open_input;
use super::progress::Progress;
use super::{CliResult, Failure};
use crate::kdump::{join_with_progress, split_set_problems, JoinError, KdumpFile, KdumpSet};
use crate::output::{AtomicOutput, NamedWriter};
use crate::readat::ReadAt;
use crate::sink::{DumpSink, FlatSink, RawSink};

/// Arguments of `join`.
#[derive(clap::Args, Debug)]
#[command(override_usage = "kdump-flat join [OPTIONS] PART... OUT")]
#[command(after_help = "\
Examples:
  kdump-flat join vmcore.1 vmcore.2 vmcore.3 vmcore       like makedumpfile --reassemble
  kdump-flat join vmcore.2 vmcore.1 vmcore                 parts in any order
  kdump-flat join part1.flat part2.flat vmcore             flattened parts (makedumpfile -F) too
  kdump-flat join --json vmcore.1 vmcore.2 vmcore
  kdump-flat join --flat vmcore.1 vmcore.2 - | ssh host 'cat > vmcore.flat'

The parts must form one complete set (K18): same disk_dump_header, split flag set, pfn ranges covering
[0, max_mapnr) without gap or overlap, same sub-header fields and bitmaps. The output is what
makedumpfile --reassemble writes, and what makedumpfile writes without --split.

Exit status: 0 ok, 1 invalid or incomplete set (nothing written), 2 usage or I/O error.")]
pub struct Args {
    /// The parts (raw or flattened, in any order; `-` for standard input, once), then the output file
    /// (must not exist unless --force).
    #[arg(required = true, num_args = 2.., value_name = "PART... OUT")]
    pub paths: Vec<PathBuf>,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print what was joined as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Wait for the output to reach the disk (fsync) before renaming it into place.
    #[arg(long)]
    pub sync: bool,
    /// Write the joined dump in makedumpfile's flattened format (one record per write, as
    /// `makedumpfile -F` would); OUT may then be `-` for standard output.
    #[arg(long)]
    pub flat: bool,
}

/// Runs `join`.
pub fn run(args: Args) -> CliResult {
    let Some((output_path, part_paths)) = args.paths.split_last() else {
        return Err(Failure::Io(anyhow!("give the parts, then the output file")));
    };
    if part_paths.is_empty() {
        return Err(Failure::Io(anyhow!("give the parts, then the output file")));
    }
    let to_stdout = output_path.as_os_str() == "-";
    if to_stdout && !args.flat {
        return Err(Failure::Io(anyhow!(
            "join needs a seekable output file, not standard output (or --flat)"
        )));
    }
    if part_paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(Failure::Io(anyhow!(
            "standard input (-) can be only one of the parts"
        )));
    }
    let mut output = match to_stdout {
        true => None,
        false if args.flat => Some(AtomicOutput::create_stream(output_path, args.force)?),
        false => Some(AtomicOutput::create(output_path, args.force)?),
    };
    let inputs = part_paths
        .iter()
        .map(|path| open_input(path))
        .collect::<Result<Vec<_>, _>>()?;
    let files = inputs
        .iter()
        .zip(part_paths)
        .map(|(input, path)| {
            KdumpFile::open(&*input.source.reader as &dyn ReadAt)
                .map_err(|e| Failure::from(e).in_file(path))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let numbered: Vec<(usize, &KdumpFile<&dyn ReadAt>)> = files.iter().enumerate().collect();
    let problems = split_set_problems(&numbered, files.len());
    if !problems.is_empty() {
        let lines: Vec<String> = problems
            .iter()
            .map(|(index, problem)| {
                let path = part_paths[*index].display();
                format!("  file {index} ({path}): K18: {problem}")
            })
            .collect();
        return Err(Failure::Invalid(anyhow!(
            "the files do not form one complete split set:\n{}",
            lines.join("\n")
        )));
    }
    let set = KdumpSet::new(files).map_err(|e| Failure::from(e).in_file(&part_paths[0]))?;
    let data_bytes: u64 = set
        .parts()
        .iter()
        .map(|part| part.file_size().saturating_sub(part.data_offset()))
        .sum();
    let progress = Progress::bytes("joining", Some(data_bytes));
    let mut report = |done: u64| progress.set(done);
    let joined = match output.as_mut() {
        None => join_into(
            &set,
            &mut FlatSink::new(BufWriter::with_capacity(
                1 << 20,
                NamedWriter::new(io::stdout().lock(), "standard output"),
            )),
            &mut report,
        ),
        Some(out) if args.flat => join_into(
            &set,
            &mut FlatSink::new(BufWriter::with_capacity(1 << 20, out.named_file())),
            &mut report,
        ),
        Some(out) => join_into(&set, &mut RawSink::new(out.named_file()), &mut report),
    };
    progress.finish();
    let summary = joined.map_err(|error| match error {
        JoinError::Part { part, error } => {
            Failure::from(error).in_file(&part_paths[set.given_index(part)])
        }
        JoinError::Write(e) => Failure::Io(e.into()),
    })?;
    match output {
        Some(output) if args.sync => output.commit()?,
        Some(output) => output.commit_unsynced()?,
        None => {}
    }
    let in_pfn_order: Vec<String> = (0..set.parts().len())
        .map(|part| part_paths[set.given_index(part)].display().to_string())
        .collect();
    if args.json {
        let value = serde_json::json!({
            "parts": in_pfn_order,
            "output": output_path.display().to_string(),
            "summary": summary,
        });
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, &value).map_err(|e| Failure::Io(e.into()))?;
        writeln!(stdout)?;
    } else {
        eprintln!(
            "kdump-flat: joined {} parts ({}): {} pages ({} zero), {} bytes of page data, \
             {} bytes of eraseinfo -> {} ({} bytes)",
            summary.parts,
            in_pfn_order.join(", "),
            summary.pages,
            summary.zero_pages,
            summary.data_bytes,
            summary.eraseinfo_bytes,
            output_path.display(),
            summary.output_len
        );
    }
    Ok(())
}

/// Joins `set` into `sink` and finishes it (a flattened sink writes its end marker and flushes).
fn join_into<R: ReadAt>(
    set: &KdumpSet<R>,
    sink: &mut dyn DumpSink,
    progress: &mut dyn FnMut(u64),
) -> Result<crate::kdump::JoinSummary, JoinError> {
    let summary = join_with_progress(set, sink, progress)?;
    sink.finish().map_err(JoinError::Write)?;
    Ok(summary)
}
