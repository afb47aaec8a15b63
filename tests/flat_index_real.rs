//! The in-place index on the real flattened dumps of `corpus/` (QEMU 7.2 and 10, makedumpfile 1.7.2 and
//! 1.7.6), against their reassembly by the real `makedumpfile -R` (installed by `.ci/run`; this test fails
//! if it is missing): the same length and the same bytes for every read, and the same `check` report and
//! page reads through `open_dump` as for the reassembled file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kdump_flat::flat::index::FlatIndex;
use kdump_flat::flat::{FlatInvariant, ParseMode};
use kdump_flat::kdump::check::check;
use kdump_flat::kdump::{KdumpFile, PageState};
use kdump_flat::readat::ReadAt;
use kdump_flat::source::{open_dump, DumpForm};
use rand::{Rng, SeedableRng};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// Every flattened file of `corpus/real` and `corpus/flat` that the lenient index accepts (what
/// `makedumpfile -R` accepts) and that has records and no record of 2^31 bytes or more, with its
/// reassembly by `makedumpfile -R` (a file). Invalid seeds are the parser's tests; without records, or
/// with a record it cannot count in an `int` (F17), `makedumpfile -R` waits forever.
fn flattened_corpus(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut cases = Vec::new();
    for sub in ["real", "flat"] {
        let Ok(listing) = std::fs::read_dir(corpus_dir().join(sub)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = listing.map(|entry| entry.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).unwrap();
            let accepted = FlatIndex::open_with_mode(bytes.as_slice(), ParseMode::Lenient)
                .is_ok_and(|index| {
                    index.stats().records > 0
                        && !index
                            .warnings()
                            .iter()
                            .any(|w| w.invariant() == FlatInvariant::F17)
                });
            if !accepted {
                continue;
            }
            let reassembled = makedumpfile_reassemble(&path, dir)
                .unwrap_or_else(|| panic!("makedumpfile -R rejects {}", path.display()));
            cases.push((path, reassembled));
        }
    }
    cases
}

/// `timeout 60 makedumpfile -R OUT < IN`: the output file, or `None` if makedumpfile rejects the input.
fn makedumpfile_reassemble(input: &Path, dir: &Path) -> Option<PathBuf> {
    let output = dir.join(format!(
        "{}.raw",
        input.file_name().unwrap().to_string_lossy()
    ));
    let status = Command::new("timeout")
        .args(["60", "makedumpfile", "-R"])
        .arg(&output)
        .stdin(std::fs::File::open(input).unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("running `timeout 60 makedumpfile -R` (install makedumpfile)");
    status.success().then_some(output)
}

#[test]
fn makedumpfile_is_installed() {
    let status = Command::new("makedumpfile")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("makedumpfile is needed by these tests (apt-get install makedumpfile)");
    assert!(status.success());
}

/// Files up to this size are also compared whole (`valid-offset-past-4g.flat` reassembles to 4 GiB).
const WHOLE_COMPARISON_LIMIT: u64 = 64 << 20;

/// Every read through the index equals the same read of `makedumpfile -R`'s output: the whole file, and
/// random reads and reads around every extent boundary.
#[test]
fn index_reads_equal_makedumpfile_reassembly() {
    let dir = tempfile::tempdir().unwrap();
    let cases = flattened_corpus(dir.path());
    let names: Vec<String> = cases
        .iter()
        .map(|(path, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for real in [
        "fw-q72.kdump-zlib.flat",
        "fw-q10.kdump-zlib.flat",
        "fw-mdf-lzo-d1.flat",
        "fw-mdf-zstd-d1.flat",
        "fw-mdf-elf-d1.flat",
    ] {
        assert!(
            names.iter().any(|name| name == real),
            "{real} missing from {names:?}"
        );
    }
    for (path, output) in &cases {
        let name = path.display();
        let file = std::fs::File::open(path).unwrap();
        let index = FlatIndex::open_with_mode(file, ParseMode::Lenient)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let reassembled = std::fs::File::open(output).unwrap();
        let length = reassembled.size().unwrap();
        assert_eq!(index.len(), length, "{name}: length");
        if length <= WHOLE_COMPARISON_LIMIT {
            let mut all = vec![0u8; length as usize];
            index.read_exact_at(0, &mut all).unwrap();
            assert!(
                all == std::fs::read(output).unwrap(),
                "{name}: reassembled bytes differ"
            );
        }

        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(length);
        let mut reads: Vec<(u64, usize)> = (0..2000)
            .map(|_| (rng.gen_range(0..length + 100), rng.gen_range(0..20_000)))
            .collect();
        for (start, _, _) in index.extents() {
            reads.extend([(start.saturating_sub(3), 7), (start, 4096)]);
        }
        for (offset, len) in reads {
            let mut got = vec![0u8; len];
            let mut want = vec![0u8; len];
            let n_got = index.read_at(offset, &mut got).unwrap();
            let n_want = reassembled.read_at(offset, &mut want).unwrap();
            assert_eq!(n_got, n_want, "{name}: read of {len} at {offset:#x}");
            assert!(
                got[..n_got] == want[..n_want],
                "{name}: bytes at {offset:#x}"
            );
        }
    }
}

/// QEMU 10's kdump-zlib (flattened) read in place equals its kdump-raw-zlib of the same stopped VM, and
/// makedumpfile's flattened lzo dump equals its raw one: the index against files the tools wrote raw.
#[test]
fn index_equals_the_raw_file_the_tool_wrote() {
    for (flat, raw) in [
        ("fw-q10.kdump-zlib.flat", "fw-q10.kdump-raw-zlib"),
        ("fw-mdf-lzo-d1.flat", "fw-mdf-lzo-d1"),
    ] {
        let real = corpus_dir().join("real");
        let source = open_dump(&real.join(flat)).unwrap();
        assert_eq!(source.form, DumpForm::Flattened);
        let expected = std::fs::read(real.join(raw)).unwrap();
        assert_eq!(
            source.reader.size().unwrap(),
            expected.len() as u64,
            "{flat}"
        );
        let mut all = vec![0u8; expected.len()];
        source.reader.read_exact_at(0, &mut all).unwrap();
        assert!(all == expected, "{flat} differs from {raw}");
    }
}

/// `check` and page reads of the kdump-compressed flattened dumps, read in place through `open_dump`,
/// equal those of their reassembly by `makedumpfile -R`.
#[test]
fn check_and_page_reads_equal_those_of_the_reassembly() {
    let dir = tempfile::tempdir().unwrap();
    let mut kdump_cases = 0;
    for (path, output) in flattened_corpus(dir.path()) {
        let mut signature = [0u8; 8];
        let is_kdump = std::fs::File::open(&output)
            .unwrap()
            .read_exact_at(0, &mut signature)
            .is_ok()
            && &signature == b"KDUMP   ";
        if !is_kdump {
            continue;
        }
        let reassembled = std::fs::read(&output).unwrap();
        let Ok(source) = open_dump(&path) else {
            continue; // a lenient-only seed: open_dump is strict
        };
        kdump_cases += 1;
        let name = path.display();
        assert_eq!(source.form, DumpForm::Flattened);
        let in_place = check(&[&*source.reader as &dyn ReadAt]);
        let raw = check(&[&reassembled as &dyn ReadAt]);
        assert_eq!(
            serde_json::to_value(&in_place).unwrap(),
            serde_json::to_value(&raw).unwrap(),
            "{name}: check reports differ"
        );
        assert!(in_place.is_valid(), "{name}: {in_place:?}");

        let flat_dump = KdumpFile::open(&*source.reader).unwrap();
        let raw_dump = KdumpFile::open(&reassembled).unwrap();
        // Every page of the first 16 MiB (the guests' RAM), the last 64 pages (the BIOS ROM below 4 GiB)
        // and a random sample of the rest.
        let max_pfn = flat_dump.max_pfn();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(max_pfn);
        let mut pfns: Vec<u64> = (0..max_pfn.min(0x1000)).collect();
        pfns.extend(max_pfn.saturating_sub(64)..max_pfn);
        pfns.extend((0..1000).map(|_| rng.gen_range(0..max_pfn)));
        let mut dumped = 0;
        for pfn in pfns {
            let state = flat_dump.page_state(pfn).unwrap();
            assert_eq!(
                state,
                raw_dump.page_state(pfn).unwrap(),
                "{name}: pfn {pfn:#x}"
            );
            if state == PageState::Dumped {
                dumped += 1;
                assert!(
                    flat_dump.read_page_or_zero(pfn).unwrap()
                        == raw_dump.read_page_or_zero(pfn).unwrap(),
                    "{name}: page {pfn:#x}"
                );
            }
        }
        assert!(dumped > 1000, "{name}: only {dumped} dumped pages compared");
    }
    assert!(
        kdump_cases >= 4,
        "only {kdump_cases} kdump-compressed flattened dumps in corpus/"
    );
}

/// The CLI on a flattened dump read in place: `check --json` and `read --pfn` give what they give on the
/// raw file QEMU wrote of the same state; an invalid flattened file exits 1 naming the invariant.
#[test]
fn cli_reads_flattened_dumps_in_place() {
    let real = corpus_dir().join("real");
    let flat = real.join("fw-q10.kdump-zlib.flat");
    let raw = real.join("fw-q10.kdump-raw-zlib");
    let run = |args: &[&str], file: &Path| {
        let output = assert_cmd::Command::cargo_bin("kdump-flat")
            .unwrap()
            .args(args)
            .arg(file)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?} {}", file.display());
        output.stdout
    };
    let report = |file: &Path| {
        let json: serde_json::Value =
            serde_json::from_slice(&run(&["check", "--json"], file)).unwrap();
        (json["valid"].clone(), json["report"].clone())
    };
    assert_eq!(report(&flat), report(&raw));
    for pfn in ["0x0", "0x9f", "0x100", "0xfff", "0xfffff"] {
        assert_eq!(
            run(&["read", "--pfn", pfn], &flat),
            run(&["read", "--pfn", pfn], &raw),
            "pfn {pfn}"
        );
    }

    let truncated = corpus_dir().join("flat").join("f7-truncated-payload.flat");
    let output = assert_cmd::Command::cargo_bin("kdump-flat")
        .unwrap()
        .arg("check")
        .arg(&truncated)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid flattened dump: F7: record 0"),
        "{stderr}"
    );
}
