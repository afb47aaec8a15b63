//! `kdump-flat reassemble IN OUT`.

use std::path::PathBuf;

use super::{CliResult, Failure};

/// Arguments of `reassemble`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Flattened input, or `-` for standard input.
    pub input: PathBuf,
    /// Raw output file.
    pub output: PathBuf,
}

/// Runs `reassemble`. (Scaffolding: implemented in issue 2.)
pub fn run(_args: Args) -> CliResult {
    Err(Failure::Io(anyhow::anyhow!(
        "reassemble: not implemented yet"
    )))
}
