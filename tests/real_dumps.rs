//! Conformance on the real dumps of corpus/real (QEMU 7.2, QEMU 10, makedumpfile 1.7.2 and 1.7.6):
//! our reassembly against `makedumpfile -R` and QEMU's raw output, and (once the kdump reader is in)
//! `check` and page reads against libkdumpfile and the ELF dumps of the same guest state.
//! Needs makedumpfile and python3-libkdumpfile (scripts/install-test-tools.sh); fails without them.

use crate::support::real::*;

use std::fs::File;

use kdump_flat::flat::{reassemble, ReassembleOptions};

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
fn flattened_files_read_in_place_equal_their_reassembly() {
    // open_dump reads a flattened file through its record index, without reassembling it.
    for name in FLATTENED {
        let (reassembled, _) = our_reassembly(name);
        let source = kdump_flat::source::open_dump(&corpus(name)).unwrap();
        assert_eq!(
            source.form,
            kdump_flat::source::DumpForm::Flattened,
            "{name}"
        );
        assert_eq!(
            source.reader.size().unwrap(),
            reassembled.len() as u64,
            "{name}"
        );
        let mut in_place = vec![0u8; reassembled.len()];
        source.reader.read_exact_at(0, &mut in_place).unwrap();
        assert!(in_place == reassembled, "{name}");
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

// ---------------------------------------------------------------------------------------------------
// The kdump reader and checker on the same files.

use kdump_flat::elf::{guest_phys_read, ElfDump};
use kdump_flat::kdump::check::check;
use kdump_flat::kdump::{KdumpError, KdumpFile, PageContent};
use kdump_flat::readat::ReadAt;

/// The committed kdump-compressed dumps (a split set counts as one), as raw bytes: flattened files through
/// our reassembly. All are of the firmware guest whose QEMU 7.2 ELF is fw-q72.elf.gz (QEMU 10: fw-q10).
fn firmware_kdumps() -> Vec<(&'static str, &'static str, Vec<Vec<u8>>)> {
    let flat = |name| our_reassembly(name).0;
    vec![
        (
            "fw-q72.kdump-zlib.flat",
            "fw-q72.elf.gz",
            vec![flat("fw-q72.kdump-zlib.flat")],
        ),
        (
            "fw-q10.kdump-zlib.flat",
            "fw-q10.elf.gz",
            vec![flat("fw-q10.kdump-zlib.flat")],
        ),
        (
            "fw-q10.kdump-raw-zlib",
            "fw-q10.elf.gz",
            vec![read_corpus("fw-q10.kdump-raw-zlib")],
        ),
        (
            "fw-mdf-lzo-d1",
            "fw-q72.elf.gz",
            vec![read_corpus("fw-mdf-lzo-d1")],
        ),
        (
            "fw-mdf-lzo-d1.flat",
            "fw-q72.elf.gz",
            vec![flat("fw-mdf-lzo-d1.flat")],
        ),
        (
            "fw-mdf-zstd-d1.flat",
            "fw-q72.elf.gz",
            vec![flat("fw-mdf-zstd-d1.flat")],
        ),
        (
            "fw-mdf-split-d1.{1,2}",
            "fw-q72.elf.gz",
            vec![
                read_corpus("fw-mdf-split-d1.1"),
                read_corpus("fw-mdf-split-d1.2"),
            ],
        ),
    ]
}

#[test]
fn check_passes_on_every_real_dump() {
    for (name, _, files) in firmware_kdumps() {
        let readers: Vec<&dyn ReadAt> = files.iter().map(|f| f as &dyn ReadAt).collect();
        let report = check(&readers);
        assert!(report.is_valid(), "{name}: {:#?}", report.violations);
        assert!(
            report.io_errors.is_empty(),
            "{name}: {:?}",
            report.io_errors
        );
        assert!(report.stats.pages_decompressed > 0, "{name}");
    }
}

#[test]
fn a_lone_member_of_a_split_set_fails_only_the_coverage_check() {
    // mdf-split-d31.2 is the second file of a booted guest's split set whose first file is 20 MB (not
    // committed); alone it covers [0x8000, 0x8000) of [0, 0x8000).
    let file = read_corpus("mdf-split-d31.2");
    let report = check(&[&file as &dyn ReadAt]);
    let ids: Vec<String> = report
        .violation_counts
        .keys()
        .map(|id| id.to_string())
        .collect();
    assert_eq!(ids, ["K18"], "{:#?}", report.violations);
}

/// Reads `pfn` from a set of files (each holds its own pfn range).
fn read_from_set(dumps: &[KdumpFile<&Vec<u8>>], pfn: u64) -> PageContent {
    for dump in dumps {
        match dump.read_page(pfn) {
            Err(KdumpError::PfnInOtherSplitFile { .. }) => continue,
            other => return other.unwrap_or_else(|e| panic!("pfn {pfn:#x}: {e}")),
        }
    }
    panic!("pfn {pfn:#x} is in no file of the set")
}

#[test]
fn every_page_equals_the_elf_dump_of_the_same_state() {
    for (name, elf_name, files) in firmware_kdumps() {
        let elf = gunzip_corpus(elf_name);
        let elf_dump = ElfDump::parse(&elf[..]).unwrap();
        let dumps: Vec<KdumpFile<&Vec<u8>>> =
            files.iter().map(|f| KdumpFile::open(f).unwrap()).collect();
        let max_pfn = dumps[0].max_pfn();
        assert_eq!(max_pfn, elf_dump.phys_end() / PAGE_SIZE, "{name}");
        let mut page = vec![0u8; PAGE_SIZE as usize];
        let mut data_pages = 0;
        for pfn in 0..max_pfn {
            let in_elf = guest_phys_read(&elf_dump, &elf[..], pfn * PAGE_SIZE, &mut page).is_ok();
            match read_from_set(&dumps, pfn) {
                PageContent::Data(bytes) => {
                    assert!(in_elf, "{name}: pfn {pfn:#x} is dumped but not in the ELF");
                    assert!(bytes == page, "{name}: pfn {pfn:#x} differs from the ELF");
                    data_pages += 1;
                }
                PageContent::Excluded => panic!("{name}: pfn {pfn:#x} excluded at dump level 1"),
                PageContent::NotInMemory => {
                    assert!(!in_elf, "{name}: pfn {pfn:#x} in the ELF only")
                }
            }
        }
        assert_eq!(data_pages, 4128, "{name}");
    }
}

#[test]
fn flattened_and_split_page_reads_equal_libkdumpfile() {
    // libkdumpfile 0.5.1 cannot read flattened files: it reads the reassembled ones (raw files are
    // compared in tests/kdump_oracle.rs). Split sets: each file holds its range.
    let dir = tempfile::tempdir().unwrap();
    for (name, _, files) in firmware_kdumps() {
        let paths: Vec<std::path::PathBuf> = files
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                let path = dir.path().join(format!("{i}-{name}"));
                std::fs::write(&path, bytes).unwrap();
                path
            })
            .collect();
        let report = libkdumpfile_pages(&paths.iter().map(|p| p.as_path()).collect::<Vec<_>>());
        let dumps: Vec<KdumpFile<&Vec<u8>>> =
            files.iter().map(|f| KdumpFile::open(f).unwrap()).collect();
        assert_eq!(report.max_pfn, dumps[0].max_pfn(), "{name}");
        for (pfn, theirs) in &report.pages {
            let ours = match read_from_set(&dumps, *pfn) {
                PageContent::Data(bytes) => Some(sha256_hex(&bytes)),
                PageContent::Excluded => None,
                PageContent::NotInMemory => {
                    panic!("{name}: pfn {pfn:#x} is in libkdumpfile's page map")
                }
            };
            assert_eq!(&ours, theirs, "{name}: pfn {pfn:#x}");
        }
        for (pfn, theirs) in &report.outside {
            assert_eq!(theirs, &None, "{name}: pfn {pfn:#x}");
            assert!(
                matches!(read_from_set(&dumps, *pfn), PageContent::NotInMemory),
                "{name}: pfn {pfn:#x}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The booted Linux guest: files too big to commit, made by `scripts/make-real-dumps.sh DIR kernel`.
// Run with: KDUMP_REAL_DIR=DIR cargo test --test all -- --ignored real_dumps::

/// The directory of generated dumps.
fn generated_dir() -> std::path::PathBuf {
    std::env::var_os("KDUMP_REAL_DIR")
        .map(std::path::PathBuf::from)
        .expect("set KDUMP_REAL_DIR to a directory made by scripts/make-real-dumps.sh (corpus/real/README.md)")
}

/// Our reassembly of a flattened file anywhere.
fn reassemble_path(path: &std::path::Path) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out");
    let mut out = File::create(&out_path).unwrap();
    reassemble(
        File::open(path).unwrap(),
        &mut out,
        ReassembleOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    drop(out);
    std::fs::read(&out_path).unwrap()
}

#[test]
#[ignore = "needs KDUMP_REAL_DIR (scripts/make-real-dumps.sh DIR kernel)"]
fn booted_guest_reassembly_equals_makedumpfile_r() {
    let dir = generated_dir();
    for name in [
        "lk.kdump-zlib.flat",
        "mdf-lzo-d31.flat",
        "mdf-zstd-d31.flat",
        "mdf-elf-d31.flat",
    ] {
        let path = dir.join(name);
        let ours = reassemble_path(&path);
        assert!(ours == makedumpfile_reassemble(&path), "{name}");
    }
    assert!(
        reassemble_path(&dir.join("mdf-lzo-d31.flat"))
            == std::fs::read(dir.join("mdf-lzo-d31")).unwrap()
    );
}

#[test]
#[ignore = "needs KDUMP_REAL_DIR (scripts/make-real-dumps.sh DIR kernel)"]
fn qemu10_booted_guest_flattened_reassembles_to_its_raw_file_and_makedumpfile_r() {
    // QEMU 10 wrote kdump-zlib (flattened) and kdump-raw-zlib of one stopped state of the booted guest:
    // our reassembly of the first == the second == makedumpfile -R's reassembly of the first.
    let dir = generated_dir();
    let flat_path = dir.join("q10-lk.kdump-zlib.flat");
    let work = tempfile::tempdir().unwrap();
    let mut out_file = File::create(work.path().join("out")).unwrap();
    let summary = reassemble(
        File::open(&flat_path).unwrap(),
        &mut out_file,
        ReassembleOptions::default(),
    )
    .unwrap();
    drop(out_file);
    let out = std::fs::read(work.path().join("out")).unwrap();
    let raw = std::fs::read(dir.join("q10-lk.kdump-raw-zlib")).unwrap();
    let makedumpfile = makedumpfile_reassemble(&flat_path);
    eprintln!(
        "q10-lk.kdump-zlib.flat: {} bytes, {} records, reassembled {} bytes; kdump-raw-zlib {} bytes; \
         makedumpfile -R {} bytes",
        std::fs::metadata(&flat_path).unwrap().len(),
        summary.records,
        out.len(),
        raw.len(),
        makedumpfile.len()
    );
    assert_eq!(summary.output_len, out.len() as u64);
    assert!(out == raw, "our reassembly differs from QEMU 10's raw file");
    assert!(
        makedumpfile == raw,
        "makedumpfile -R differs from QEMU 10's raw file"
    );
}

#[test]
#[ignore = "needs KDUMP_REAL_DIR (scripts/make-real-dumps.sh DIR kernel)"]
fn booted_guest_dumps_pass_check_and_equal_libkdumpfile_and_the_elf() {
    let dir = generated_dir();
    // QEMU 7.2's guest (lk.elf, read by makedumpfile too) and QEMU 10's guest (q10-lk.elf).
    let elfs: Vec<(&str, File)> = ["lk.elf", "q10-lk.elf"]
        .into_iter()
        .map(|name| (name, File::open(dir.join(name)).unwrap()))
        .collect();
    let elf_dumps: Vec<ElfDump> = elfs
        .iter()
        .map(|(name, file)| {
            let dump = ElfDump::parse(file).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(dump.vmcoreinfo().is_some(), "{name}");
            dump
        })
        .collect();
    let sets: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "lk.kdump-zlib.flat",
            vec![reassemble_path(&dir.join("lk.kdump-zlib.flat"))],
        ),
        (
            "q10-lk.kdump-raw-zlib",
            vec![std::fs::read(dir.join("q10-lk.kdump-raw-zlib")).unwrap()],
        ),
        (
            "mdf-lzo-d31",
            vec![std::fs::read(dir.join("mdf-lzo-d31")).unwrap()],
        ),
        (
            "mdf-zstd-d31.flat",
            vec![reassemble_path(&dir.join("mdf-zstd-d31.flat"))],
        ),
        (
            "mdf-split-d31.{1,2}",
            vec![
                std::fs::read(dir.join("mdf-split-d31.1")).unwrap(),
                std::fs::read(dir.join("mdf-split-d31.2")).unwrap(),
            ],
        ),
    ];
    let work = tempfile::tempdir().unwrap();
    for (name, files) in &sets {
        let which_elf = usize::from(name.starts_with("q10-"));
        let (elf_name, elf) = &elfs[which_elf];
        let elf_dump = &elf_dumps[which_elf];
        let readers: Vec<&dyn ReadAt> = files.iter().map(|f| f as &dyn ReadAt).collect();
        let report = check(&readers);
        assert!(report.is_valid(), "{name}: {:#?}", report.violations);
        let dumps: Vec<KdumpFile<&Vec<u8>>> =
            files.iter().map(|f| KdumpFile::open(f).unwrap()).collect();
        assert!(
            dumps[0].vmcoreinfo().is_some(),
            "{name}: VMCOREINFO copied from the guest"
        );
        let paths: Vec<std::path::PathBuf> = files
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                let path = work.path().join(format!("{i}-{name}"));
                std::fs::write(&path, bytes).unwrap();
                path
            })
            .collect();
        let oracle = libkdumpfile_pages(&paths.iter().map(|p| p.as_path()).collect::<Vec<_>>());
        assert_eq!(
            oracle.osrelease.as_deref(),
            Some("6.1.0-56-cloud-amd64"),
            "{name}"
        );
        let mut page = vec![0u8; PAGE_SIZE as usize];
        let mut equal = 0;
        for (pfn, theirs) in &oracle.pages {
            let ours = match read_from_set(&dumps, *pfn) {
                PageContent::Data(bytes) => {
                    guest_phys_read(elf_dump, elf, pfn * PAGE_SIZE, &mut page).unwrap();
                    assert!(
                        bytes == page,
                        "{name}: pfn {pfn:#x} differs from {elf_name}"
                    );
                    equal += 1;
                    Some(sha256_hex(&bytes))
                }
                PageContent::Excluded => None,
                PageContent::NotInMemory => {
                    panic!("{name}: pfn {pfn:#x} in libkdumpfile's page map")
                }
            };
            assert_eq!(&ours, theirs, "{name}: pfn {pfn:#x}");
        }
        eprintln!("{name}: {equal} pages equal libkdumpfile's and {elf_name}'s");
        assert!(equal > 10_000, "{name}: {equal}");
    }
}

#[test]
#[ignore = "needs KDUMP_REAL_DIR (scripts/make-real-dumps.sh DIR kernel)"]
fn booted_guest_flattened_elf_holds_the_guest_memory_or_zeros() {
    // makedumpfile -F -E -d 31: excluded pages become zero-filled tails (p_filesz < p_memsz) or gaps.
    let dir = generated_dir();
    let elf = File::open(dir.join("lk.elf")).unwrap();
    let elf_dump = ElfDump::parse(&elf).unwrap();
    let mdf = reassemble_path(&dir.join("mdf-elf-d31.flat"));
    let mdf_dump = ElfDump::parse(&mdf[..]).unwrap();
    let (mut a, mut b) = (vec![0u8; PAGE_SIZE as usize], vec![0u8; PAGE_SIZE as usize]);
    let (mut same, mut zeroed) = (0, 0);
    for block in &mdf_dump.blocks {
        for page_start in (block.phys_addr..block.phys_end()).step_by(PAGE_SIZE as usize) {
            guest_phys_read(&mdf_dump, &mdf[..], page_start, &mut b).unwrap();
            guest_phys_read(&elf_dump, &elf, page_start, &mut a).unwrap();
            if a == b {
                same += 1;
            } else {
                assert!(b.iter().all(|&x| x == 0), "page {page_start:#x}");
                zeroed += 1;
            }
        }
    }
    eprintln!("mdf-elf-d31: {same} pages equal lk.elf, {zeroed} left out (zeros)");
    assert!(same > 10_000 && zeroed > 1_000);
}

#[test]
#[ignore = "needs KDUMP_REAL_DIR (scripts/make-real-dumps.sh DIR kernel)"]
fn booted_guest_split_set_info_totals_equal_the_unsplit_dump() {
    // makedumpfile 1.7.2 -d 31 of the booted guest, once whole (mdf-lzo-d31) and once as a --split set
    // whose second file holds an empty range: `info` on the set (given in reverse) counts the same pages.
    let dir = generated_dir();
    let info_json = |files: &[&str]| -> serde_json::Value {
        let output = assert_cmd::Command::cargo_bin("kdump-flat")
            .unwrap()
            .current_dir(&dir)
            .arg("info")
            .args(files)
            .arg("--json")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{files:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let set = info_json(&["mdf-split-d31.2", "mdf-split-d31.1"]);
    let whole = info_json(&["mdf-lzo-d31"]);
    assert_eq!(set["pages"], whole["pages"]);
    assert_eq!(set["parts"][1]["info"]["pages"]["dumped"], 0);
    eprintln!("set pages: {}", set["pages"]);
}
