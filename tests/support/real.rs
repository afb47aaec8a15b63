//! Helpers shared by the tests on real dumps (corpus/real): paths, the gzipped ELFs, the real tools
//! (makedumpfile -R, the libkdumpfile oracle) run as subprocesses with a time limit.

#![allow(dead_code)]

#[allow(unused_imports)] // not every test module that uses support::real runs the oracle
pub use super::libkdumpfile::*;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Page size of every dump in corpus/real (x86).
pub const PAGE_SIZE: u64 = 4096;

/// Path of a file in corpus/real.
pub fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/real")
        .join(name)
}

/// Reads a file of corpus/real.
pub fn read_corpus(name: &str) -> Vec<u8> {
    let path = corpus(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Decompresses a gzipped ELF dump of corpus/real (`fw-q72.elf.gz` → the ELF bytes).
pub fn gunzip_corpus(name: &str) -> Vec<u8> {
    let gz = read_corpus(name);
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{name}: bad gzip: {e}"));
    out
}

/// Runs a command to completion within `limit`, killing it on timeout. Returns its stdout.
pub fn run_with_limit(mut command: Command, stdin: Option<&Path>, limit: Duration) -> Vec<u8> {
    let description = format!("{command:?}");
    if let Some(path) = stdin {
        command.stdin(std::fs::File::open(path).unwrap());
    } else {
        command.stdin(Stdio::null());
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {description} (is the tool installed? see scripts/install-test-tools.sh): {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).map(|_| buf)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!("{description} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().unwrap().unwrap();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).ok();
    }
    assert!(status.success(), "{description} failed: {status}\n{err}");
    out
}

/// `makedumpfile -R OUT < flat`: the real tool's reassembly of a flattened file, as bytes.
pub fn makedumpfile_reassemble(flat: &Path) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reassembled");
    let mut command = Command::new("makedumpfile");
    command.arg("-R").arg(&out);
    run_with_limit(command, Some(flat), Duration::from_secs(120));
    std::fs::read(&out).unwrap()
}
