//! `diff` against the real tools on every kdump dump of corpus/real (QEMU 7.2, QEMU 10, makedumpfile
//! 1.7.2 and 1.7.6; flattened and raw): where `cmp` of the files reassembled by `makedumpfile -R` says
//! equal, `diff` says `same_bytes` (and otherwise finds at least one difference); where libkdumpfile reads
//! the same page bytes from both sides, `diff --memory` does not report that pfn, and where it reads
//! different bytes, it does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kdump_flat::diff::{diff, DiffMode, DiffOptions, DiffReport, Side, Structure};
use kdump_flat::source::open_dump;

use crate::support::real::{corpus, makedumpfile_reassemble, try_libkdumpfile_report, OraclePfns};

/// The kdump dumps of corpus/real (the split parts are compared as a set elsewhere).
const DUMPS: [&str; 6] = [
    "fw-q72.kdump-zlib.flat",
    "fw-q10.kdump-zlib.flat",
    "fw-q10.kdump-raw-zlib",
    "fw-mdf-lzo-d1",
    "fw-mdf-lzo-d1.flat",
    "fw-mdf-zstd-d1.flat",
];

/// Every pfn listed: the tests look at all ranges.
const NO_LIMIT: usize = usize::MAX;

fn open_side(label: &'static str, path: &Path) -> Side {
    let source = open_dump(path).unwrap();
    Side::open(label, vec![(path.display().to_string(), source)]).unwrap()
}

fn diff_paths(a: &Path, b: &Path, mode: DiffMode) -> DiffReport {
    let options = DiffOptions {
        mode,
        limit: NO_LIMIT,
    };
    diff(&open_side("A", a), &open_side("B", b), &options, &|_, _| {}).unwrap()
}

/// Each dump as a raw file: flattened ones reassembled by `makedumpfile -R` (the real tool), written to
/// `dir`; raw ones as they are.
fn raw_files(dir: &Path) -> BTreeMap<&'static str, PathBuf> {
    DUMPS
        .iter()
        .map(|&name| {
            let path = corpus(name);
            if name.ends_with(".flat") {
                let raw = dir.join(name.trim_end_matches(".flat"));
                std::fs::write(&raw, makedumpfile_reassemble(&path)).unwrap();
                (name, raw)
            } else {
                (name, path)
            }
        })
        .collect()
}

/// `cmp -s A B`: true if the files are equal.
fn cmp_equal(a: &Path, b: &Path) -> bool {
    let status = Command::new("cmp")
        .arg("-s")
        .arg(a)
        .arg(b)
        .status()
        .expect("cmp (diffutils) must be installed");
    assert!(
        status.code() == Some(0) || status.code() == Some(1),
        "cmp failed: {status}"
    );
    status.success()
}

#[test]
fn same_bytes_exactly_where_cmp_of_the_reassembled_files_says_equal() {
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_files(dir.path());
    let mut equal_pairs = 0;
    for (i, a) in DUMPS.iter().enumerate() {
        for b in &DUMPS[i..] {
            let cmp_says_equal = cmp_equal(&raw[a], &raw[b]);
            let report = diff_paths(&corpus(a), &corpus(b), DiffMode::Structure);
            assert_eq!(report.same_bytes, cmp_says_equal, "{a} vs {b}");
            // no difference found exactly when the bytes are the same
            assert_eq!(
                report.is_same(),
                cmp_says_equal,
                "{a} vs {b}: {:?}",
                report.differences
            );
            equal_pairs += cmp_says_equal as usize;
        }
    }
    // each file with itself, QEMU 10's flattened with its raw, makedumpfile's flattened with its raw
    assert_eq!(equal_pairs, DUMPS.len() + 2);
}

/// (pfn → sha256 of the page, or None if libkdumpfile has no data) for the pfns stored in a raw file.
fn libkdumpfile_pages(path: &Path) -> BTreeMap<u64, Option<String>> {
    try_libkdumpfile_report(&[path], OraclePfns::FilePagemap)
        .unwrap_or_else(|e| panic!("{e}"))
        .pages
        .into_iter()
        .collect()
}

/// The pfns of `report`'s page differences of field `field`.
fn reported_pfns(report: &DiffReport, fields: &[&str]) -> Vec<[u64; 2]> {
    report
        .differences
        .iter()
        .filter(|d| d.structure == Structure::Page && fields.contains(&d.field.as_str()))
        .filter_map(|d| d.pfns)
        .collect()
}

fn inside(ranges: &[[u64; 2]], pfn: u64) -> bool {
    ranges
        .iter()
        .any(|[first, last]| (*first..=*last).contains(&pfn))
}

#[test]
fn memory_differences_are_where_libkdumpfile_reads_different_pages() {
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_files(dir.path());
    // libkdumpfile 0.5.1 reads raw files only; zstd is not compared (Debian's 0.5.1 may lack it)
    let names = [
        "fw-q72.kdump-zlib.flat",
        "fw-q10.kdump-raw-zlib",
        "fw-mdf-lzo-d1",
    ];
    let oracle: BTreeMap<&str, BTreeMap<u64, Option<String>>> = names
        .iter()
        .map(|&name| (name, libkdumpfile_pages(&raw[name])))
        .collect();
    let mut checked_same = 0;
    let mut checked_different = 0;
    for a in names {
        for b in names {
            if a == b {
                continue;
            }
            let report = diff_paths(&corpus(a), &corpus(b), DiffMode::Memory);
            let differing = reported_pfns(&report, &["content", "undecodable"]);
            let (pages_a, pages_b) = (&oracle[a], &oracle[b]);
            let mut only_a = 0;
            for (pfn, hash_a) in pages_a {
                match (hash_a, pages_b.get(pfn)) {
                    (Some(x), Some(Some(y))) if x == y => {
                        checked_same += 1;
                        assert!(
                            !inside(&differing, *pfn),
                            "{a} vs {b}: pfn {pfn:#x} reported"
                        );
                    }
                    (Some(_), Some(Some(_))) => {
                        checked_different += 1;
                        assert!(
                            inside(&differing, *pfn),
                            "{a} vs {b}: pfn {pfn:#x} not reported"
                        );
                    }
                    (Some(_), _) => only_a += 1,
                    (None, _) => {}
                }
            }
            assert_eq!(report.summary.only_in_a, only_a, "{a} vs {b}");
            let same_pages = pages_a == pages_b;
            assert_eq!(report.summary.pfns_differing == 0, same_pages, "{a} vs {b}");
        }
    }
    // QEMU 7.2 and QEMU 10 differ in 79 pages of SeaBIOS (both directions); everything else is equal
    assert_eq!(checked_different, 4 * 79);
    assert!(checked_same > 6 * 4000, "{checked_same}");
}
