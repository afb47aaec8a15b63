//! Split sets that readers read but makedumpfile would not reassemble (issue 13, item 9): the parts'
//! headers differ only in the timestamp, or the parts leave a gap in [0, max_mapnr). Made from the real
//! `makedumpfile --split` files (corpus/real/fw-mdf-split-d1.*); libkdumpfile 0.5.1 is the reader that
//! decides what they hold: our reads must equal its reads pfn by pfn, `info` and `read` take the set with
//! warnings, `check` reports a K18 deviation and `join` refuses, as `makedumpfile --reassemble` does.

use std::path::{Path, PathBuf};

use assert_cmd::Command as Cli;
use kdump_flat::kdump::check::check;
use kdump_flat::kdump::{KInvariant, KdumpFile, KdumpSet, PageContent};
use kdump_flat::readat::ReadAt;

use crate::support::real::{corpus, sha256_hex, try_libkdumpfile_report, OraclePfns};

/// Offset of `timestamp.tv_sec` in the 64-bit `disk_dump_header`.
const TIMESTAMP_SEC: usize = 408;
/// Offsets of `end_pfn` and `end_pfn_64` in the 64-bit sub-header (at block 1, 4096).
const END_PFN: usize = 4096 + 24;
const END_PFN_64: usize = 4096 + 88;

/// The two parts written to `dir`, part `changed` (0 or 1) changed by `change`.
fn parts_with(dir: &Path, changed: usize, change: impl Fn(&mut [u8])) -> [PathBuf; 2] {
    let paths = [dir.join("part.1"), dir.join("part.2")];
    for (index, (path, name)) in paths
        .iter()
        .zip(["fw-mdf-split-d1.1", "fw-mdf-split-d1.2"])
        .enumerate()
    {
        let mut bytes = std::fs::read(corpus(name)).unwrap();
        if index == changed {
            change(&mut bytes);
        }
        std::fs::write(path, bytes).unwrap();
    }
    paths
}

fn get_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn later_timestamp(bytes: &mut [u8]) {
    let stamp = get_u64(bytes, TIMESTAMP_SEC);
    put_u64(bytes, TIMESTAMP_SEC, stamp + 1);
}

/// Part 1 ends at pfn 0x800 instead of 0x40000: pfns [0x800, 0x40000), some of them dumped memory, are
/// in no part (part 1's descriptors still start at pfn 0, so the pfns it keeps read as before).
fn gap_from_0x800(bytes: &mut [u8]) {
    put_u64(bytes, END_PFN, 0x800);
    put_u64(bytes, END_PFN_64, 0x800);
}

fn open_set(paths: &[PathBuf; 2]) -> KdumpSet<Vec<u8>> {
    let files = paths
        .iter()
        .map(|p| KdumpFile::open(std::fs::read(p).unwrap()).unwrap())
        .collect::<Vec<_>>();
    let (set, problems) = KdumpSet::new_readable(files).expect("readers read this set");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].readable);
    set
}

/// Every page libkdumpfile reads (its file page map, and the pfns at the edges of its gaps) reads the
/// same from our set.
fn assert_reads_like_libkdumpfile(paths: &[PathBuf; 2]) -> usize {
    let set = open_set(paths);
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let oracle = try_libkdumpfile_report(&refs, OraclePfns::FilePagemap).unwrap();
    for (pfn, digest) in oracle.pages.iter().chain(&oracle.outside) {
        let ours = match set.read_page(*pfn).unwrap() {
            PageContent::Data(page) => Some(sha256_hex(&page)),
            PageContent::Excluded | PageContent::NotInMemory => None,
        };
        assert_eq!(&ours, digest, "pfn {pfn:#x}");
    }
    oracle.pages.len()
}

/// Runs `kdump-flat ARGS PART1 PART2 [OUT]`.
fn cli(args: &[&str], paths: &[PathBuf; 2], out: Option<&Path>) -> std::process::Output {
    Cli::cargo_bin("kdump-flat")
        .unwrap()
        .args(args)
        .args(paths)
        .args(out)
        .output()
        .unwrap()
}

/// What `check`, `info`, `read` and `join` do with the set, as (command, exit status, first stderr line
/// or the warning lines of stdout) lines for a snapshot.
fn commands_on(paths: &[PathBuf; 2], dir: &Path) -> String {
    let name = |p: &PathBuf| p.file_name().unwrap().to_string_lossy().into_owned();
    let shown = |text: &str| {
        text.replace(&dir.display().to_string(), "DIR")
            .lines()
            .filter(|l| l.contains("K18") || l.starts_with("VALID") || l.starts_with("INVALID"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut lines = Vec::new();
    let joined = dir.join("joined");
    for (args, out_file) in [
        (vec!["check"], None),
        (vec!["check", "--strict"], None),
        (vec!["info"], None),
        (vec!["read", "--pfn", "0x10", "-o", "-"], None),
        (vec!["join"], Some(joined.as_path())),
    ] {
        let out = cli(&args, paths, out_file);
        lines.push(format!(
            "$ kdump-flat {} {} {}{} -> exit {}\n{}\n{}",
            args.join(" "),
            name(&paths[0]),
            name(&paths[1]),
            if out_file.is_some() { " joined" } else { "" },
            out.status.code().unwrap_or(-1),
            shown(&String::from_utf8_lossy(&out.stdout)),
            shown(&String::from_utf8_lossy(&out.stderr)),
        ));
    }
    assert!(!joined.exists(), "join refuses and leaves nothing");
    lines.join("\n")
}

#[test]
fn parts_differing_only_in_the_timestamp_read_like_libkdumpfile_and_join_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let paths = parts_with(dir.path(), 1, later_timestamp);
    let files: Vec<KdumpFile<Vec<u8>>> = paths
        .iter()
        .map(|p| KdumpFile::open(std::fs::read(p).unwrap()).unwrap())
        .collect();
    assert!(KdumpSet::new(files).is_err(), "the strict set refuses it");
    assert!(assert_reads_like_libkdumpfile(&paths) > 0);
    let bytes: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let readers: Vec<&dyn ReadAt> = bytes.iter().map(|b| b as &dyn ReadAt).collect();
    let report = check(&readers);
    assert!(report.is_valid() && report.has_deviation(KInvariant::K18));
    insta::assert_snapshot!(commands_on(&paths, dir.path()));
}

#[test]
fn parts_with_a_gap_read_like_libkdumpfile_and_the_gap_is_not_in_the_dump() {
    let dir = tempfile::tempdir().unwrap();
    let paths = parts_with(dir.path(), 0, gap_from_0x800);
    assert!(assert_reads_like_libkdumpfile(&paths) > 0);
    let set = open_set(&paths);
    let whole = KdumpSet::new(vec![
        KdumpFile::open(std::fs::read(corpus("fw-mdf-split-d1.1")).unwrap()).unwrap(),
        KdumpFile::open(std::fs::read(corpus("fw-mdf-split-d1.2")).unwrap()).unwrap(),
    ])
    .unwrap();
    let mut in_gap = 0;
    for pfn in 0..0x2000 {
        let expected = match whole.read_page(pfn).unwrap() {
            PageContent::Data(_) if pfn >= 0x800 => PageContent::Excluded,
            other => other,
        };
        in_gap += usize::from(pfn >= 0x800 && expected == PageContent::Excluded);
        assert_eq!(set.read_page(pfn).unwrap(), expected, "pfn {pfn:#x}");
    }
    assert!(in_gap > 0, "the gap holds dumped pages");
    insta::assert_snapshot!(commands_on(&paths, dir.path()));
}
