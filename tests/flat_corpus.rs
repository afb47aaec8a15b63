//! The seed corpus `corpus/flat/`: real QEMU dumps and hand-made edge cases.
//! - every seed goes through the fuzz target's logic (`kdump_flat::fuzzing::parse_flat`);
//! - the strict/lenient verdict on every seed is under an insta snapshot;
//! - QEMU 10's flattened `kdump-zlib` file reassembles to exactly QEMU 10's `kdump-raw-zlib` file of the
//!   same stopped guest (the property this project exists to check);
//! - QEMU 7.2's flattened file reassembles to exactly what the real `makedumpfile -R` produces.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kdump_flat::flat::{reassemble, scan_records, ParseMode, ReassembleOptions};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/flat")
}

fn seeds() -> Vec<PathBuf> {
    let mut seeds: Vec<PathBuf> = fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "flat"))
        .collect();
    seeds.sort();
    seeds
}

fn reassembled(flat: &Path, dir: &Path) -> Vec<u8> {
    let path = dir.join("ours.raw");
    let mut out = File::create(&path).unwrap();
    reassemble(
        File::open(flat).unwrap(),
        &mut out,
        ReassembleOptions::default(),
    )
    .unwrap();
    fs::read(&path).unwrap()
}

#[test]
fn fuzz_target_logic_holds_on_every_seed() {
    let seeds = seeds();
    assert!(seeds.len() >= 20);
    for seed in seeds {
        kdump_flat::fuzzing::parse_flat(&fs::read(&seed).unwrap());
    }
}

#[test]
fn verdicts_on_the_seeds() {
    let mut report = String::new();
    for seed in seeds() {
        let name = seed.file_name().unwrap().to_string_lossy().into_owned();
        report.push_str(&format!("{name}\n"));
        for mode in [ParseMode::Strict, ParseMode::Lenient] {
            let verdict = match scan_records(File::open(&seed).unwrap(), mode) {
                Ok(scan) => {
                    let warnings: Vec<String> =
                        scan.warnings.iter().map(|w| format!("; {w}")).collect();
                    format!("ok, {} records{}", scan.records.len(), warnings.concat())
                }
                Err(e) => format!("error {e}"),
            };
            report.push_str(&format!("  {mode:?}: {verdict}\n"));
        }
    }
    insta::assert_snapshot!(report);
}

#[test]
fn qemu10_flattened_reassembles_to_qemu10_raw() {
    let dir = tempfile::tempdir().unwrap();
    let ours = reassembled(&corpus().join("qemu10-16M.kdump-zlib.flat"), dir.path());
    let qemu_raw = fs::read(corpus().join("qemu10-16M.kdump-raw-zlib")).unwrap();
    assert_eq!(ours.len(), qemu_raw.len());
    assert!(
        ours == qemu_raw,
        "reassembled differs from QEMU's raw output"
    );
}

#[test]
fn qemu72_flattened_reassembles_like_makedumpfile_r() {
    let dir = tempfile::tempdir().unwrap();
    let flat = corpus().join("qemu72-16M.kdump-zlib.flat");
    let ours = reassembled(&flat, dir.path());
    let theirs_path = dir.path().join("theirs.raw");
    let status = Command::new("timeout")
        .args(["60", "makedumpfile", "-R"])
        .arg(&theirs_path)
        .stdin(File::open(&flat).unwrap())
        .stdout(Stdio::null())
        .status()
        .expect("makedumpfile must be installed (scripts/install-test-tools.sh)");
    assert!(status.success());
    assert!(ours == fs::read(&theirs_path).unwrap());
}
