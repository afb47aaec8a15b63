//! `kdump-flat to-elf` end to end on QEMU's and makedumpfile's firmware-guest dumps of corpus/real: byte
//! identity with QEMU's own ELF dump of the same stopped guest (QEMU 7.2 and 10, flattened and raw),
//! standard output, sparse output, from-elf of the output gives QEMU's kdump file back, split sets, and
//! the CLI's refusals (exit codes, messages, no partial output).

use crate::support::real::*;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use assert_cmd::Command;
use kdump_flat::elf::{guest_phys_read, ElfDump};
use kdump_flat::kdump::{KdumpFile, PageContent};

/// QEMU's GuestPhysBlocks of the never-started PC guest (its ELF's PT_LOADs): RAM below 640 KiB, option
/// ROMs, the BIOS alias at 0xe0000, RAM from 1 MiB, the BIOS ROM below 4 GiB.
pub const FW_BLOCKS: &str =
    "0-0xa0000,0xc0000-0xe0000,0xe0000-0x100000,0x100000-0x1000000,0xfffc0000-0x100000000";

fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "fw-q72.kdump-zlib.flat",
        "fw-q10.kdump-zlib.flat",
        "fw-q10.kdump-raw-zlib",
        "fw-mdf-lzo-d1",
        "fw-mdf-split-d1.1",
        "fw-mdf-split-d1.2",
    ] {
        std::fs::copy(corpus(name), dir.path().join(name)).unwrap();
    }
    dir
}

fn kdump_flat(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("kdump-flat").unwrap();
    command.current_dir(dir);
    command
}

fn to_elf(dir: &Path, args: &[&str]) -> Vec<u8> {
    kdump_flat(dir)
        .arg("to-elf")
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

#[test]
fn qemu_kdump_files_become_qemus_elf_byte_for_byte() {
    let dir = workdir();
    let q72 = gunzip_corpus("fw-q72.elf.gz");
    let q10 = gunzip_corpus("fw-q10.elf.gz");
    for (input, expected) in [
        ("fw-q72.kdump-zlib.flat", &q72),
        ("fw-q10.kdump-zlib.flat", &q10),
        ("fw-q10.kdump-raw-zlib", &q10),
    ] {
        let out = format!("{input}.elf");
        to_elf(dir.path(), &[input, &out, "--blocks", FW_BLOCKS]);
        let written = std::fs::read(dir.path().join(&out)).unwrap();
        assert!(written == *expected, "{input}: differs from QEMU's ELF");
        let stdout = to_elf(dir.path(), &[input, "-", "--blocks", FW_BLOCKS]);
        assert!(stdout == *expected, "{input} to stdout");
    }
    // Zero pages are holes: 16 MiB of guest memory, 79 pages of data.
    let meta = std::fs::metadata(dir.path().join("fw-q10.kdump-raw-zlib.elf")).unwrap();
    assert_eq!(meta.len(), 16_909_451);
    assert!(
        meta.blocks() * 512 < 2 << 20,
        "{} bytes allocated",
        meta.blocks() * 512
    );
}

#[test]
fn from_elf_of_the_output_gives_qemus_kdump_back() {
    let dir = workdir();
    to_elf(
        dir.path(),
        &["fw-q10.kdump-raw-zlib", "q10.elf", "--blocks", FW_BLOCKS],
    );
    to_elf(
        dir.path(),
        &["fw-q72.kdump-zlib.flat", "q72.elf", "--blocks", FW_BLOCKS],
    );
    kdump_flat(dir.path())
        .args(["from-elf", "q10.elf", "back.raw"])
        .assert()
        .success();
    kdump_flat(dir.path())
        .args([
            "from-elf",
            "q72.elf",
            "back.flat",
            "--flat",
            "--uts-machine",
            "x86_64",
        ])
        .assert()
        .success();
    assert!(
        std::fs::read(dir.path().join("back.raw")).unwrap() == read_corpus("fw-q10.kdump-raw-zlib")
    );
    assert!(
        std::fs::read(dir.path().join("back.flat")).unwrap()
            == read_corpus("fw-q72.kdump-zlib.flat")
    );
}

#[test]
fn default_blocks_are_runs_of_pages_with_the_same_memory() {
    // Without --blocks, touching blocks merge (0xc0000..0x1000000 is one run of pages): the program
    // headers differ from QEMU's, the memory does not.
    let dir = workdir();
    to_elf(dir.path(), &["fw-q10.kdump-raw-zlib", "merged.elf"]);
    let elf = std::fs::read(dir.path().join("merged.elf")).unwrap();
    let qemu = gunzip_corpus("fw-q10.elf.gz");
    let parsed = ElfDump::parse(&elf[..]).unwrap();
    let ranges: Vec<(u64, u64)> = parsed
        .blocks
        .iter()
        .map(|b| (b.phys_addr, b.phys_end()))
        .collect();
    assert_eq!(
        ranges,
        [
            (0, 0xa0000),
            (0xc0000, 0x1000000),
            (0xfffc0000, 0x1_0000_0000)
        ]
    );
    assert_eq!(elf.len(), qemu.len() - 2 * 56);
    let qemu_parsed = ElfDump::parse(&qemu[..]).unwrap();
    assert_eq!(parsed.note_bytes, qemu_parsed.note_bytes);
    let mut ours = vec![0u8; PAGE_SIZE as usize];
    let mut theirs = vec![0u8; PAGE_SIZE as usize];
    for &(start, end) in &ranges {
        for addr in (start..end).step_by(PAGE_SIZE as usize) {
            guest_phys_read(&parsed, &elf[..], addr, &mut ours).unwrap();
            guest_phys_read(&qemu_parsed, &qemu[..], addr, &mut theirs).unwrap();
            assert!(ours == theirs, "address {addr:#x}");
        }
    }
}

#[test]
fn a_split_set_gives_the_elf_of_the_whole_dump() {
    let dir = workdir();
    to_elf(
        dir.path(),
        &["fw-mdf-split-d1.2", "fw-mdf-split-d1.1", "set.elf"],
    );
    to_elf(dir.path(), &["fw-mdf-lzo-d1", "one.elf"]);
    let set = std::fs::read(dir.path().join("set.elf")).unwrap();
    assert!(set == std::fs::read(dir.path().join("one.elf")).unwrap());
    // makedumpfile's dump of QEMU 7.2's ELF holds QEMU 7.2's memory: page for page the same.
    let dump_bytes = read_corpus("fw-mdf-lzo-d1");
    let dump = KdumpFile::open(&dump_bytes[..]).unwrap();
    let parsed = ElfDump::parse(&set[..]).unwrap();
    let mut page = vec![0u8; PAGE_SIZE as usize];
    let mut pages = 0;
    for pfn in 0..dump.max_pfn() {
        if let PageContent::Data(data) = dump.read_page(pfn).unwrap() {
            guest_phys_read(&parsed, &set[..], pfn * PAGE_SIZE, &mut page).unwrap();
            assert!(data == page, "pfn {pfn:#x}");
            pages += 1;
        }
    }
    assert_eq!(pages, 4128);
}

#[test]
fn json_summary() {
    let dir = workdir();
    let out = to_elf(
        dir.path(),
        &[
            "fw-q72.kdump-zlib.flat",
            "q72.elf",
            "--blocks",
            FW_BLOCKS,
            "--json",
        ],
    );
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn refusals_are_clear_and_leave_no_output() {
    let dir = workdir();
    std::fs::write(dir.path().join("old.elf"), b"keep me").unwrap();
    std::fs::write(dir.path().join("junk"), vec![7u8; 8192]).unwrap();
    let mut messages = String::new();
    for (args, code) in [
        (vec!["fw-q10.kdump-raw-zlib", "old.elf"], 2),
        (vec!["missing", "out.elf"], 2),
        (vec!["junk", "out.elf"], 1),
        (
            vec![
                "fw-q10.kdump-raw-zlib",
                "out.elf",
                "--blocks",
                "0x100-0x2000",
            ],
            2,
        ),
        (
            vec!["fw-q10.kdump-raw-zlib", "out.elf", "--blocks", "0-0xa0000"],
            2,
        ),
        (
            vec![
                "fw-q10.kdump-raw-zlib",
                "out.elf",
                "--blocks",
                "0-0x200000000",
            ],
            2,
        ),
        (
            vec!["fw-q10.kdump-raw-zlib", "out.elf", "--blocks", "0-1-2"],
            2,
        ),
        (vec!["fw-q10.kdump-raw-zlib", "-", "--json"], 2),
        (
            vec!["fw-mdf-split-d1.1", "fw-q10.kdump-raw-zlib", "out.elf"],
            1,
        ),
        (vec!["fw-mdf-split-d1.2", "out.elf"], 1),
    ] {
        let output = kdump_flat(dir.path())
            .arg("to-elf")
            .args(&args)
            .assert()
            .code(code)
            .get_output()
            .clone();
        messages.push_str(&format!(
            "$ kdump-flat to-elf {}\nexit {code}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    insta::assert_snapshot!(messages);
    assert_eq!(
        std::fs::read(dir.path().join("old.elf")).unwrap(),
        b"keep me"
    );
    let left = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().contains("elf") && name != "old.elf"
        })
        .count();
    assert_eq!(left, 0, "an output or temporary file was left behind");
    to_elf(
        dir.path(),
        &[
            "fw-q10.kdump-raw-zlib",
            "old.elf",
            "--force",
            "--blocks",
            FW_BLOCKS,
        ],
    );
    assert!(std::fs::read(dir.path().join("old.elf")).unwrap() == gunzip_corpus("fw-q10.elf.gz"));
}

#[test]
fn cut_off_dumps_give_an_error_never_a_panic() {
    use kdump_flat::kdump::KdumpSet;
    use kdump_flat::sink::RawSink;
    use kdump_flat::to_elf::{convert, ToElfOptions};
    let whole = read_corpus("fw-q10.kdump-raw-zlib");
    let mut errors = 0;
    let mut cuts: Vec<usize> = (0..whole.len()).step_by(997).collect();
    cuts.extend([0x1d0, 0x1000, 0x1068, 0x2000, 0x42000, whole.len() - 1]);
    for cut in cuts {
        let bytes = &whole[..cut];
        let Ok(file) = KdumpFile::open(bytes) else {
            errors += 1;
            continue;
        };
        let set = KdumpSet::new(vec![file]).unwrap();
        let mut sink = RawSink::in_memory();
        match convert(&set, &ToElfOptions::default(), &mut sink) {
            Ok(_) => {
                ElfDump::parse(&sink.into_bytes()[..]).unwrap();
            }
            Err(e) => {
                errors += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(errors > 500, "{errors} cut-off dumps refused");
}
