//! Conformance on the real dumps of corpus/real (QEMU 7.2, QEMU 10, makedumpfile 1.7.2 and 1.7.6):
//! our reassembly against `makedumpfile -R` and QEMU's raw output, and (once the kdump reader is in)
//! `check` and page reads against libkdumpfile and the ELF dumps of the same guest state.
//! Needs makedumpfile and python3-libkdumpfile (scripts/install-test-tools.sh); fails without them.

mod real_support;

use std::fs::File;

use kdump_flat::flat::{reassemble, ReassembleOptions};
use real_support::*;

/// Every flattened file of corpus/real.
const FLATTENED: [&str; 5] = [
    "fw-q72.kdump-zlib.flat",
    "fw-q10.kdump-zlib.flat",
    "fw-mdf-lzo-d1.flat",
    "fw-mdf-zstd-d1.flat",
    "fw-mdf-elf-d1.flat",
];

/// Our reassembly of a corpus file, as bytes, with the number of records replayed.
fn our_reassembly(name: &str) -> (Vec<u8>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out");
    let mut out = File::create(&out_path).unwrap();
    let input = File::open(corpus(name)).unwrap();
    let summary = reassemble(input, &mut out, ReassembleOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    drop(out);
    let bytes = std::fs::read(&out_path).unwrap();
    assert_eq!(summary.output_len, bytes.len() as u64, "{name}");
    (bytes, summary.records)
}

#[test]
fn our_reassembly_equals_makedumpfile_r() {
    for name in FLATTENED {
        let (ours, _) = our_reassembly(name);
        let theirs = makedumpfile_reassemble(&corpus(name));
        assert!(
            ours == theirs,
            "{name}: ours {} bytes, makedumpfile -R {} bytes",
            ours.len(),
            theirs.len()
        );
    }
}

#[test]
fn qemu10_flattened_reassembles_to_qemu10_raw() {
    let (ours, records) = our_reassembly("fw-q10.kdump-zlib.flat");
    assert_eq!(records, 88);
    assert!(ours == read_corpus("fw-q10.kdump-raw-zlib"));
}

#[test]
fn makedumpfile_flattened_reassembles_to_its_raw_output() {
    // makedumpfile -F and makedumpfile without -F, same input and options: the same file.
    let (ours, records) = our_reassembly("fw-mdf-lzo-d1.flat");
    assert_eq!(records, 76);
    assert!(ours == read_corpus("fw-mdf-lzo-d1"));
}

#[test]
fn record_counts_are_those_of_the_readme() {
    // corpus/real/README.md, counted there by an independent Python script.
    for (name, expected) in [
        ("fw-q72.kdump-zlib.flat", 88),
        ("fw-mdf-zstd-d1.flat", 76),
        ("fw-mdf-elf-d1.flat", 10),
    ] {
        let (bytes, records) = our_reassembly(name);
        assert_eq!(records, expected, "{name}");
        assert!(!bytes.is_empty());
    }
}
