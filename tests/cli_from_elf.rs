//! `kdump-flat from-elf` end to end: byte identity with QEMU's own kdump files, every compression
//! re-read by the checker and the reader, and the CLI's refusals (exit codes, messages, no partial output).

use crate::support::real::*;

use std::path::Path;

use assert_cmd::Command;
use kdump_flat::elf::{guest_phys_read, ElfDump};
use kdump_flat::kdump::check::check;
use kdump_flat::kdump::{KdumpFile, PageContent};
use kdump_flat::readat::ReadAt;

/// A temporary directory holding `q10.elf` (QEMU 10's firmware-guest ELF dump), the working directory of
/// every command so that messages show relative paths only.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("q10.elf"), gunzip_corpus("fw-q10.elf.gz")).unwrap();
    dir
}

fn from_elf(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("kdump-flat").unwrap();
    command.current_dir(dir).arg("from-elf");
    command
}

#[test]
fn raw_flat_and_stdout_outputs_equal_qemu10() {
    let dir = workdir();
    from_elf(dir.path())
        .args(["q10.elf", "out.raw"])
        .assert()
        .success();
    from_elf(dir.path())
        .args(["q10.elf", "out.flat", "--flat"])
        .assert()
        .success();
    let stdout = from_elf(dir.path())
        .args(["q10.elf", "-", "--flat"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let qemu_flat = read_corpus("fw-q10.kdump-zlib.flat");
    assert!(
        std::fs::read(dir.path().join("out.raw")).unwrap() == read_corpus("fw-q10.kdump-raw-zlib")
    );
    assert!(std::fs::read(dir.path().join("out.flat")).unwrap() == qemu_flat);
    assert!(stdout == qemu_flat);
}

#[test]
fn json_summary() {
    let dir = workdir();
    let out = from_elf(dir.path())
        .args(["q10.elf", "out.raw", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn every_compression_gives_a_valid_dump_of_the_same_memory() {
    let dir = workdir();
    let elf = std::fs::read(dir.path().join("q10.elf")).unwrap();
    let elf_dump = ElfDump::parse(&elf[..]).unwrap();
    for method in ["none", "zlib", "lzo", "snappy", "zstd"] {
        let name = format!("out-{method}");
        from_elf(dir.path())
            .args(["q10.elf", &name, "--compress", method])
            .assert()
            .success();
        let bytes = std::fs::read(dir.path().join(&name)).unwrap();
        let report = check(&[&bytes as &dyn ReadAt]);
        assert!(report.is_valid(), "{method}: {:#?}", report.violations);
        let dump = KdumpFile::open(&bytes).unwrap();
        assert_eq!(dump.compression().name(), method);
        let mut page = vec![0u8; PAGE_SIZE as usize];
        let mut pages = 0;
        for pfn in 0..dump.max_pfn() {
            if let PageContent::Data(data) = dump.read_page(pfn).unwrap() {
                guest_phys_read(&elf_dump, &elf[..], pfn * PAGE_SIZE, &mut page).unwrap();
                assert!(data == page, "{method}: pfn {pfn:#x}");
                pages += 1;
            }
        }
        assert_eq!(pages, 4128, "{method}");
    }
}

#[test]
fn refusals_are_clear_and_leave_no_output() {
    let dir = workdir();
    std::fs::write(dir.path().join("old.kdump"), b"keep me").unwrap();
    std::fs::write(
        dir.path().join("short.elf"),
        &std::fs::read(dir.path().join("q10.elf")).unwrap()[..1000],
    )
    .unwrap();
    let mut messages = String::new();
    for (args, code) in [
        (vec!["q10.elf", "old.kdump"], 2),
        (vec!["q10.elf", "-"], 2),
        (vec!["-", "out"], 2),
        (vec!["missing.elf", "out"], 2),
        (vec!["old.kdump", "out"], 1),
        (vec!["short.elf", "out"], 1),
    ] {
        let output = from_elf(dir.path())
            .args(&args)
            .assert()
            .code(code)
            .get_output()
            .clone();
        messages.push_str(&format!(
            "$ kdump-flat from-elf {}\nexit {code}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    insta::assert_snapshot!(messages);
    assert_eq!(
        std::fs::read(dir.path().join("old.kdump")).unwrap(),
        b"keep me"
    );
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["old.kdump", "q10.elf", "short.elf"]);
    // --force overwrites.
    from_elf(dir.path())
        .args(["q10.elf", "old.kdump", "--force"])
        .assert()
        .success();
    assert!(
        std::fs::read(dir.path().join("old.kdump")).unwrap()
            == read_corpus("fw-q10.kdump-raw-zlib")
    );
}
