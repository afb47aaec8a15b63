//! Page reads of [`KdumpFile`] against libkdumpfile's reads of the same file (python3-libkdumpfile, via
//! tests/oracle/libkdumpfile_pages.py --pagemap file). The test FAILS if libkdumpfile is missing.
//!
//! Files: every raw kdump-compressed file under corpus/real/ (flattened ones are read through
//! `open_dump` too only once libkdumpfile can read them: Debian's 0.5.1 cannot), plus the paths in
//! `KDUMP_ORACLE_FILES` (colon-separated) for local runs on bigger dumps.

use crate::support::kdump::{corpus_kdump_files, synthetic_variants, Layout32, Synth};
use crate::support::libkdumpfile::{sha256_hex, try_libkdumpfile_report, OraclePfns};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kdump_flat::kdump::{KdumpError, KdumpFile, PageContent};

/// Reads every pfn below `max_pfn` with [`KdumpFile`] and compares it with libkdumpfile: a pfn in
/// libkdumpfile's `file.pagemap` must read as the same data; any other pfn must be excluded or not in
/// memory. Returns the number of data pages.
fn compare_with_libkdumpfile(path: &Path) -> usize {
    let report =
        try_libkdumpfile_report(&[path], OraclePfns::FilePagemap).unwrap_or_else(|e| panic!("{e}"));
    let expected: HashMap<u64, Option<String>> = report.pages.into_iter().collect();
    let file = std::fs::File::open(path).unwrap();
    let dump = KdumpFile::open(file).unwrap();
    assert_eq!(
        dump.max_pfn(),
        report.max_pfn,
        "{}: max_pfn",
        path.display()
    );
    let mut data_pages = 0;
    for pfn in 0..dump.max_pfn() {
        let ours = match dump.read_page(pfn) {
            // A part of a split set holds only its own range: libkdumpfile reports the rest as absent.
            Err(KdumpError::PfnInOtherSplitFile { .. }) => PageContent::NotInMemory,
            other => other.unwrap(),
        };
        match (expected.get(&pfn), ours) {
            (Some(Some(theirs)), PageContent::Data(bytes)) => {
                assert_eq!(
                    theirs,
                    &sha256_hex(&bytes),
                    "{}: pfn {pfn:#x}",
                    path.display()
                );
                data_pages += 1;
            }
            (None, PageContent::Excluded | PageContent::NotInMemory) => {}
            (theirs, ours) => panic!(
                "{}: pfn {pfn:#x}: libkdumpfile {theirs:?} (None = not stored, Some(None) = no data), \
                 kdump-flat {:?}",
                path.display(),
                std::mem::discriminant(&ours)
            ),
        }
    }
    data_pages
}

fn oracle_files() -> Vec<PathBuf> {
    let mut files = corpus_kdump_files();
    if let Ok(extra) = std::env::var("KDUMP_ORACLE_FILES") {
        files.extend(
            extra
                .split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
        );
    }
    files
}

#[test]
fn page_reads_equal_libkdumpfile_on_real_dumps() {
    let files = oracle_files();
    assert!(
        files.len() >= 4,
        "expected the raw kdump files of corpus/real, found {files:?}"
    );
    for path in &files {
        let pages = compare_with_libkdumpfile(path);
        eprintln!("{}: {pages} pages equal", path.display());
    }
}

#[test]
fn page_reads_equal_libkdumpfile_on_synthetic_dumps() {
    let dir = tempfile::tempdir().unwrap();
    for (name, synth, dump) in synthetic_variants() {
        if synth.class == kdump_flat::kdump::Class::Bits32 && synth.layout32 == Layout32::Padded {
            // libkdumpfile < 0.5.3 reads the padded 32-bit sub-header (Arm, ppc) with the i386 layout
            // (libkdumpfile issue #75): Debian's 0.5.1 reports max_pfn 0 for these. Their pages are
            // compared with the model in tests/kdump_reader.rs instead.
            continue;
        }
        let path = dir.path().join(name);
        std::fs::write(&path, &dump.bytes).unwrap();
        let pages = compare_with_libkdumpfile(&path);
        assert_eq!(pages as u64, dump.dumped_pages(), "{name}");
    }
}

#[test]
#[ignore = "writes the synthetic variants to $SYNTH_DIR for manual inspection"]
fn write_synthetic_variants() {
    let dir = PathBuf::from(std::env::var("SYNTH_DIR").unwrap());
    for (name, _, dump) in synthetic_variants() {
        std::fs::write(dir.join(name), &dump.bytes).unwrap();
    }
}

#[test]
fn page_reads_equal_libkdumpfile_for_every_header_version() {
    let dir = tempfile::tempdir().unwrap();
    // Version 0 has no sub-header; libkdumpfile 0.5.1 then leaves the file's pfn range empty and reads
    // no page at all (tests/kdump_reader.rs checks version 0 against the model).
    for version in 1..=6 {
        let mut synth = Synth::x86_64(kdump_flat::compress::Compression::Zlib, 700);
        synth.header_version = version;
        let built = synth.build();
        let path = dir.path().join(format!("v{version}"));
        std::fs::write(&path, &built.bytes).unwrap();
        let pages = compare_with_libkdumpfile(&path);
        assert_eq!(pages as u64, built.dumped_pages(), "v{version}");
    }
}
