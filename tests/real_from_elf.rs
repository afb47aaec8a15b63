//! `from-elf` against QEMU itself: the kdump file converted from QEMU's ELF dump of a stopped guest must
//! equal QEMU's own kdump file of the same state, byte for byte, flattened and raw.

use crate::support::real::*;

use kdump_flat::compress::Compression;
use kdump_flat::elf::ElfDump;
use kdump_flat::from_elf::{write_kdump_from_elf, FromElfOptions};
use kdump_flat::sink::{FlatSink, RawSink};

fn convert(elf: &[u8], uts_machine: &str) -> (Vec<u8>, Vec<u8>) {
    let dump = ElfDump::parse(elf).unwrap();
    let options = FromElfOptions {
        compression: Compression::Zlib,
        uts_machine: uts_machine.to_string(),
        ..FromElfOptions::default()
    };
    let mut flat = FlatSink::new(Vec::new());
    write_kdump_from_elf(elf, &dump, &options, &mut flat).unwrap();
    let mut raw = RawSink::in_memory();
    write_kdump_from_elf(elf, &dump, &options, &mut raw).unwrap();
    (flat.into_inner(), raw.into_bytes())
}

/// Index of the first differing byte, for a readable failure.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

#[test]
fn qemu72_elf_converts_to_qemu72_kdump_zlib() {
    let (flat, raw) = convert(&gunzip_corpus("fw-q72.elf.gz"), "x86_64");
    let qemu = read_corpus("fw-q72.kdump-zlib.flat");
    assert_eq!(
        first_difference(&flat, &qemu),
        None,
        "flattened: {} vs QEMU {} bytes",
        flat.len(),
        qemu.len()
    );
    let qemu_raw = makedumpfile_reassemble(&corpus("fw-q72.kdump-zlib.flat"));
    assert_eq!(first_difference(&raw, &qemu_raw), None);
}

#[test]
fn qemu10_elf_converts_to_qemu10_kdump_zlib_and_kdump_raw_zlib() {
    let (flat, raw) = convert(&gunzip_corpus("fw-q10.elf.gz"), "Unknown");
    let qemu_flat = read_corpus("fw-q10.kdump-zlib.flat");
    let qemu_raw = read_corpus("fw-q10.kdump-raw-zlib");
    assert_eq!(first_difference(&flat, &qemu_flat), None, "flattened");
    assert_eq!(first_difference(&raw, &qemu_raw), None, "raw");
}

/// A directory written by `scripts/make-real-dumps.sh DIR kernel` (booted Linux guest, too big to commit).
fn generated_dir() -> std::path::PathBuf {
    std::env::var_os("KDUMP_REAL_DIR")
        .map(std::path::PathBuf::from)
        .expect("set KDUMP_REAL_DIR to a directory made by scripts/make-real-dumps.sh (see corpus/real/README.md)")
}

#[test]
#[ignore = "needs KDUMP_REAL_DIR from scripts/make-real-dumps.sh (QEMU + a downloaded kernel)"]
fn booted_guest_elf_converts_to_qemu72_kdump_zlib() {
    let dir = generated_dir();
    let elf = std::fs::read(dir.join("lk.elf")).unwrap();
    let dump = ElfDump::parse(&elf[..]).unwrap();
    assert!(
        dump.vmcoreinfo().is_some(),
        "the booted guest has a VMCOREINFO note"
    );
    let (flat, _) = convert(&elf, "x86_64");
    let qemu = std::fs::read(dir.join("lk.kdump-zlib.flat")).unwrap();
    assert_eq!(
        first_difference(&flat, &qemu),
        None,
        "flattened: {} vs QEMU {} bytes",
        flat.len(),
        qemu.len()
    );
}

#[test]
#[ignore = "needs KDUMP_REAL_DIR from scripts/make-real-dumps.sh (QEMU + a downloaded kernel)"]
fn booted_guest_qemu10_elf_converts_to_qemu10_kdump_zlib_and_kdump_raw_zlib() {
    // The command line with its defaults (zlib, utsname.machine "Unknown" like QEMU >= 8.0), flattened and
    // raw, against QEMU 10's kdump-zlib and kdump-raw-zlib files of the same stopped state.
    let dir = generated_dir();
    let elf = dir.join("q10-lk.elf");
    let dump = ElfDump::parse(&std::fs::File::open(&elf).unwrap()).unwrap();
    assert!(
        dump.vmcoreinfo().is_some(),
        "the booted guest has a VMCOREINFO note"
    );
    let work = tempfile::tempdir().unwrap();
    for (qemu_file, ours, extra_args) in [
        ("q10-lk.kdump-zlib.flat", "out.flat", &["--flat"][..]),
        ("q10-lk.kdump-raw-zlib", "out.raw", &[][..]),
    ] {
        let out = work.path().join(ours);
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_kdump-flat"))
            .arg("from-elf")
            .arg(&elf)
            .arg(&out)
            .args(extra_args)
            .status()
            .unwrap();
        assert!(status.success(), "from-elf {extra_args:?}: {status}");
        let ours = std::fs::read(&out).unwrap();
        let qemu = std::fs::read(dir.join(qemu_file)).unwrap();
        assert_eq!(
            first_difference(&ours, &qemu),
            None,
            "{qemu_file}: ours {} vs QEMU 10 {} bytes",
            ours.len(),
            qemu.len()
        );
        eprintln!(
            "from-elf q10-lk.elf {extra_args:?} == {qemu_file} ({} bytes)",
            qemu.len()
        );
    }
}

#[test]
fn makedumpfiles_elf_of_the_same_state_also_converts_to_qemu72_kdump_zlib() {
    // makedumpfile -F -E -d 1 rewrote QEMU 7.2's ELF: program headers at 64, zero pages left out of the
    // file (p_filesz < p_memsz). The memory, blocks and notes are the same, so the conversion must still
    // give QEMU 7.2's own kdump-zlib file.
    let elf = makedumpfile_reassemble(&corpus("fw-mdf-elf-d1.flat"));
    let dump = ElfDump::parse(&elf[..]).unwrap();
    assert!(dump.blocks.iter().any(|b| b.file_size < b.mem_size));
    let (flat, _) = convert(&elf, "x86_64");
    assert_eq!(
        first_difference(&flat, &read_corpus("fw-q72.kdump-zlib.flat")),
        None
    );
}
