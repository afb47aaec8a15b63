//! Running the `kdump-flat` binary in the CLI tests.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The directory of the real dumps, corpus/real.
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/real")
}

/// Runs `kdump-flat ARGS` in `dir` (so that paths in the output are the relative ones given).
pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("kdump-flat")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// The command's standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The command's standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
