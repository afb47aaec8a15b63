//! The `kdump-flat` command line: one module per subcommand, a shared error type with the exit codes
//! 0 (ok), 1 (invalid input) and 2 (usage or I/O error).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod diff;
mod dump_input;
mod flatten;
mod from_elf;
mod gen;
mod info;
mod join;
mod progress;
mod read;
mod reassemble;
mod records;
mod selftest;
mod to_elf;

/// A failed run: the exit code follows from the kind.
#[derive(Debug)]
pub enum Failure {
    /// The input is not a valid dump (exit 1).
    Invalid(anyhow::Error),
    /// Usage or I/O error (exit 2).
    Io(anyhow::Error),
}

impl Failure {
    /// Exit code of this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Invalid(_) => 1,
            Failure::Io(_) => 2,
        }
    }
}

impl Failure {
    /// The same failure, its message prefixed with the file it is about.
    pub fn in_file(self, path: &std::path::Path) -> Failure {
        match self {
            Failure::Invalid(e) => Failure::Invalid(anyhow::anyhow!("{}: {e}", path.display())),
            Failure::Io(e) => Failure::Io(anyhow::anyhow!("{}: {e}", path.display())),
        }
    }
}

impl From<crate::kdump::KdumpError> for Failure {
    /// Invalid input for an invariant violation; an I/O error otherwise (reading failed, or a pfn
    /// outside the dump was asked for).
    fn from(e: crate::kdump::KdumpError) -> Self {
        if e.is_invalid_input() {
            Failure::Invalid(e.into())
        } else {
            Failure::Io(e.into())
        }
    }
}

impl From<std::io::Error> for Failure {
    /// An I/O error, except an invalid flattened file found by `source::open_dump` (invalid input).
    fn from(e: std::io::Error) -> Self {
        // `open_dump` reports a flattened file that breaks an F invariant as InvalidData: invalid input.
        let invalid_flattened = e
            .get_ref()
            .is_some_and(|inner| inner.is::<crate::source::InvalidFlattenedDump>());
        if invalid_flattened {
            Failure::Invalid(e.into())
        } else {
            Failure::Io(e.into())
        }
    }
}

/// "1 record", "2 records": a count and its noun (plural with an "s").
pub(crate) fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Result of a subcommand.
pub type CliResult = Result<(), Failure>;

const EXAMPLES: &str = "\
Examples:
  kdump-flat reassemble vmcore.flat vmcore          flattened -> raw (like makedumpfile -R)
  ssh host cat vmcore.flat | kdump-flat reassemble - vmcore
  kdump-flat flatten vmcore - | ssh host 'cat > vmcore.flat'
  kdump-flat records vmcore.flat --json
  kdump-flat join vmcore.1 vmcore.2 vmcore         a makedumpfile --split set -> one dump
";

/// Verification harness and toolkit for makedumpfile's flattened format and kdump-compressed dumps.
#[derive(Parser, Debug)]
#[command(name = "kdump-flat", version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Reassemble a flattened dump into a raw file (like `makedumpfile -R`).
    Reassemble(reassemble::Args),
    /// Convert a QEMU ELF dump into a kdump-compressed dump, as QEMU's dump-guest-memory writes it.
    FromElf(from_elf::Args),
    /// Convert a kdump-compressed dump (raw, flattened or a split set) into an ELF vmcore laid out as QEMU's.
    ToElf(to_elf::Args),
    /// Flatten a raw dump file into makedumpfile's flattened format, skipping holes.
    Flatten(flatten::Args),
    /// List the records of a flattened dump and which earlier records each one overwrites.
    Records(records::Args),
    /// Check a kdump-compressed file (or a split set) against every invariant K1-K18.
    Check(check::Args),
    /// Show the header fields, layout, page counts, notes and VMCOREINFO of a kdump-compressed file or split set.
    Info(info::Args),
    /// Explain how two dumps differ, structure by structure (exit 0 same, 1 different, 2 trouble).
    Diff(diff::Args),
    /// Join the files of a makedumpfile --split set into one dump (like `makedumpfile --reassemble`).
    Join(join::Args),
    /// Read guest-physical bytes (--pfn, --phys) or bytes of the reassembled file (--offset).
    Read(read::Args),
    /// Run the harness properties P1–P5 on random model layouts.
    Selftest(selftest::Args),
    /// Write a model dump (raw or flattened) from a seed or a layout file.
    Gen(gen::Args),
}

/// Parses the command line, runs the subcommand and maps the outcome to an exit code.
/// `stdout_closed_at_start`: file descriptor 1 was closed when the process started (see `main.rs`); a
/// command that writes to standard output then fails (exit 2) instead of writing into nothing.
pub fn main(stdout_closed_at_start: bool) -> ExitCode {
    if let Err(e) = crate::output::install_signal_cleanup() {
        eprintln!("kdump-flat: warning: cannot watch for SIGINT/SIGTERM/SIGHUP: {e}");
    }
    let cli = Cli::parse();
    if stdout_closed_at_start {
        if let Some(what) = cli.command.stdout_use() {
            eprintln!(
                "kdump-flat: error: standard output is closed, and {what} would be written there \
                 (redirect it to a file or to /dev/null)"
            );
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::Reassemble(args) => reassemble::run(args),
        Command::FromElf(args) => from_elf::run(args),
        Command::ToElf(args) => to_elf::run(args),
        Command::Flatten(args) => flatten::run(args),
        Command::Records(args) => records::run(args),
        Command::Check(args) => check::run(args),
        Command::Info(args) => info::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Join(args) => join::run(args),
        Command::Read(args) => read::run(args),
        Command::Selftest(args) => selftest::run(args),
        Command::Gen(args) => gen::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let (Failure::Invalid(e) | Failure::Io(e)) = &failure;
            if is_broken_pipe(e) {
                // The reader of our standard output (or of an output FIFO) went away, as with
                // `kdump-flat records X | head`: end quietly, as cat and head do.
                crate::output::die_of_broken_pipe();
            }
            eprintln!("kdump-flat: error: {e:#}");
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Whether `error` comes from writing into a pipe nobody reads any more (EPIPE).
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let io_kind = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                cause
                    .downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            });
        io_kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

impl Command {
    /// What the command writes to standard output, if it writes there with these arguments.
    fn stdout_use(&self) -> Option<&'static str> {
        let dash = |path: &std::path::Path| path.as_os_str() == "-";
        match self {
            Command::Reassemble(_) => None,
            Command::FromElf(args) if dash(&args.output) => Some("the dump"),
            Command::FromElf(args) => args.json.then_some("the JSON summary"),
            Command::ToElf(args) if args.paths.last().is_some_and(|p| dash(p)) => {
                Some("the ELF dump")
            }
            Command::ToElf(args) => args.json.then_some("the JSON summary"),
            Command::Flatten(args) => dash(&args.output).then_some("the flattened dump"),
            Command::Records(_) => Some("the record list"),
            Command::Check(_) => Some("the report"),
            Command::Info(_) => Some("the report"),
            Command::Diff(_) => Some("the report"),
            Command::Join(args) if args.paths.last().is_some_and(|p| dash(p)) => {
                Some("the joined dump")
            }
            Command::Join(args) => args.json.then_some("the JSON summary"),
            Command::Read(args) => match &args.output {
                Some(path) if !dash(path) => None,
                _ => Some("the bytes read"),
            },
            Command::Selftest(_) => Some("the report"),
            Command::Gen(args) => dash(&args.output).then_some("the dump"),
        }
    }
}
