//! `kdump-flat reassemble IN OUT`: flattened → raw, like `makedumpfile -R`, but streaming in large blocks,
//! keeping holes sparse and reporting a truncated stream at once.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use anyhow::anyhow;

use super::progress::Progress;
use super::{count, CliResult, Failure};
use crate::flat::{reassemble, reassemble_file, ParseMode, ReassembleErrorKind, ReassembleOptions};
use crate::output::AtomicOutput;

/// Arguments of `reassemble`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  kdump-flat reassemble vmcore.flat vmcore
  ssh host cat /var/crash/vmcore.flat | kdump-flat reassemble - vmcore
  kdump-flat reassemble --keep-partial cut.flat vmcore.partial

Exit status: 0 ok, 1 invalid input (nothing written unless --keep-partial), 2 usage or I/O error.")]
pub struct Args {
    /// Flattened input, or `-` for standard input.
    pub input: PathBuf,
    /// Raw output file (must not exist unless --force).
    pub output: PathBuf,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// On invalid or truncated input, keep what arrived in OUT (and say that it is incomplete).
    #[arg(long)]
    pub keep_partial: bool,
    /// Accept what `makedumpfile -R` accepts (junk signature padding, version ≠ 1, trailing bytes, …),
    /// with warnings.
    #[arg(long)]
    pub lenient: bool,
    /// Wait for the output to reach the disk (fsync) before renaming it into place; write-back starts
    /// while reassembling. Off by default, as with `cp` and `makedumpfile -R`: the rename alone already
    /// guarantees that OUT is never half-written by us.
    #[arg(long)]
    pub sync: bool,
}

/// The flattened input: a regular file (whose length the progress bar shows and whose read-ahead is
/// widened), or anything else (standard input, a pipe, a device).
enum Input {
    RegularFile(File),
    Stream(Box<dyn Read>),
}

/// Runs `reassemble`.
pub fn run(args: Args) -> CliResult {
    if args.output.as_os_str() == "-" {
        return Err(Failure::Io(anyhow!(
            "reassemble needs a seekable output file, not standard output"
        )));
    }
    let (input, total) = if args.input.as_os_str() == "-" {
        (Input::Stream(Box::new(io::stdin().lock())), None)
    } else {
        let file = File::open(&args.input)
            .map_err(|e| Failure::Io(anyhow!("cannot open {}: {e}", args.input.display())))?;
        let metadata = file
            .metadata()
            .map_err(|e| Failure::Io(anyhow!("cannot inspect {}: {e}", args.input.display())))?;
        if metadata.is_dir() {
            return Err(Failure::Io(anyhow!(
                "{} is a directory, not a flattened dump",
                args.input.display()
            )));
        }
        if metadata.is_file() {
            (Input::RegularFile(file), Some(metadata.len()))
        } else {
            (Input::Stream(Box::new(file)), None)
        }
    };
    let mut output = AtomicOutput::create(&args.output, args.force)?;
    let progress = Progress::bytes("reassembling", total);
    let mut report = |done: u64| progress.set(done);
    let options = ReassembleOptions {
        mode: if args.lenient {
            ParseMode::Lenient
        } else {
            ParseMode::Strict
        },
        progress: Some(&mut report),
        write_behind: args.sync,
    };
    let result = match input {
        Input::RegularFile(file) => reassemble_file(file, output.file(), options),
        Input::Stream(stream) => reassemble(stream, output.file(), options),
    };
    progress.finish();
    let output_name = output.describe();
    match result {
        Ok(summary) => {
            for warning in &summary.warnings {
                eprintln!("kdump-flat: warning: {warning}");
            }
            if args.sync {
                output.commit()?;
            } else {
                output.commit_unsynced()?;
            }
            eprintln!(
                "kdump-flat: {}, {} payload bytes -> {} ({} bytes)",
                count(summary.records, "record"),
                summary.payload_bytes,
                args.output.display(),
                summary.output_len
            );
            Ok(())
        }
        Err(error) => {
            for warning in &error.partial.warnings {
                eprintln!("kdump-flat: warning: {warning}");
            }
            let input_error = !error.kind.is_output_error();
            if args.keep_partial && input_error {
                output.commit()?;
                eprintln!(
                    "kdump-flat: kept INCOMPLETE output {}: {}, {} bytes (the input failed)",
                    args.output.display(),
                    count(error.partial.records, "record"),
                    error.partial.output_len
                );
            }
            let input_name = match args.input.as_os_str() == "-" {
                true => "standard input".to_string(),
                false => args.input.display().to_string(),
            };
            Err(match error.kind {
                ReassembleErrorKind::Invalid(e) => Failure::Invalid(e.into()),
                ReassembleErrorKind::Read(e) => Failure::Io(anyhow!(
                    "cannot read the flattened stream {input_name}: {e}"
                )),
                ReassembleErrorKind::Write(e) => Failure::Io(
                    io::Error::new(e.kind(), format!("cannot write {output_name}: {e}")).into(),
                ),
                ReassembleErrorKind::WriteRecord {
                    record,
                    offset,
                    error,
                } => Failure::Io(
                    io::Error::new(
                        error.kind(),
                        format!(
                            "cannot write {output_name} at offset {offset:#x} (record {}, header at \
                             stream position {:#x}): {error}",
                            record.index, record.position
                        ),
                    )
                    .into(),
                ),
            })
        }
    }
}
