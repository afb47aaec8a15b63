//! Page reads of [`KdumpFile`] against libkdumpfile's reads of the same file (python3-libkdumpfile, via
//! tests/oracle/kdumpfile_pages.py). The test FAILS if libkdumpfile is missing.
//!
//! Files: every raw kdump-compressed file under corpus/real/ (flattened ones are read through
//! `open_dump` too only once libkdumpfile can read them: Debian's 0.5.1 cannot), plus the paths in
//! `KDUMP_ORACLE_FILES` (colon-separated) for local runs on bigger dumps.

#[path = "kdump_common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kdump_flat::kdump::{KdumpError, KdumpFile, PageContent};

/// What libkdumpfile says about each stored pfn.
fn libkdumpfile_pages(path: &Path) -> (u64, HashMap<u64, String>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/kdumpfile_pages.py");
    let out = Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(path)
        .output()
        .expect("run /usr/bin/python3");
    assert!(
        out.status.success(),
        "libkdumpfile oracle failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let max_pfn: u64 = header
        .split_whitespace()
        .find_map(|w| w.strip_prefix("max_pfn="))
        .unwrap()
        .parse()
        .unwrap();
    let pages = lines
        .map(|line| {
            let (pfn, rest) = line.split_once(' ').unwrap();
            (u64::from_str_radix(pfn, 16).unwrap(), rest.to_string())
        })
        .collect();
    (max_pfn, pages)
}

fn compare_with_libkdumpfile(path: &Path) -> usize {
    let (max_pfn, expected) = libkdumpfile_pages(path);
    let file = std::fs::File::open(path).unwrap();
    let dump = KdumpFile::open(file).unwrap();
    assert_eq!(dump.max_pfn(), max_pfn, "{}: max_pfn", path.display());
    let mut data_pages = 0;
    for pfn in 0..dump.max_pfn() {
        let ours = match dump.read_page(pfn) {
            // A part of a split set holds only its own range: libkdumpfile reports the rest as absent.
            Err(KdumpError::PfnInOtherSplitFile { .. }) => PageContent::NotInMemory,
            other => other.unwrap(),
        };
        match (expected.get(&pfn), ours) {
            (Some(theirs), PageContent::Data(bytes)) => {
                assert_eq!(
                    theirs,
                    &format!("D {}", common::crc32_hex(&bytes)),
                    "{}: pfn {pfn:#x}",
                    path.display()
                );
                data_pages += 1;
            }
            (None, PageContent::Excluded | PageContent::NotInMemory) => {}
            (theirs, ours) => panic!(
                "{}: pfn {pfn:#x}: libkdumpfile {theirs:?}, kdump-flat {:?}",
                path.display(),
                std::mem::discriminant(&ours)
            ),
        }
    }
    data_pages
}

fn oracle_files() -> Vec<PathBuf> {
    let mut files = common::corpus_kdump_files();
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
    for (name, synth, dump) in common::synthetic_variants() {
        if synth.class == kdump_flat::kdump::Class::Bits32
            && synth.layout32 == common::Layout32::Padded
        {
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
    for (name, _, dump) in common::synthetic_variants() {
        std::fs::write(dir.join(name), &dump.bytes).unwrap();
    }
}

#[test]
fn page_reads_equal_libkdumpfile_for_every_header_version() {
    let dir = tempfile::tempdir().unwrap();
    // Version 0 has no sub-header; libkdumpfile 0.5.1 then leaves the file's pfn range empty and reads
    // no page at all (tests/kdump_reader.rs checks version 0 against the model).
    for version in 1..=6 {
        let mut synth = common::Synth::x86_64(kdump_flat::compress::Compression::Zlib, 700);
        synth.header_version = version;
        let built = synth.build();
        let path = dir.path().join(format!("v{version}"));
        std::fs::write(&path, &built.bytes).unwrap();
        let pages = compare_with_libkdumpfile(&path);
        assert_eq!(pages as u64, built.dumped_pages(), "v{version}");
    }
}
