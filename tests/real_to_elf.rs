//! `to-elf` output read by real tools: `readelf -l -n` without a warning, drgn (PyPI, libkdumpfile
//! built in) reading the same physical pages as `kdump-flat read`, and, on booted guests
//! (`#[ignore]`d: KDUMP_REAL_DIR from scripts/make-real-dumps.sh DIR kernel), byte identity with QEMU's
//! ELF dumps, drgn on the ELF of makedumpfile's lzo -d 31 dump and of QEMU's kdump-zlib dump, and
//! makedumpfile -d 31 of our ELF.

use crate::cli_to_elf::FW_BLOCKS;
use crate::support::real::*;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kdump_flat::kdump::{KdumpFile, PageContent};
use kdump_flat::model::gen::{layout_from_seed, SizeClass};
use kdump_flat::model::{
    write_layout, Layout, Machine, PageClass, PageContent as Content, PageRun, WriterKind,
};
use kdump_flat::sink::RawSink;

/// The Python of the drgn virtual environment made by scripts/install-test-tools.sh.
fn drgn_python() -> PathBuf {
    let venv = std::env::var_os("KDUMP_FLAT_VENV").unwrap_or_else(|| "/opt/kdump-flat-venv".into());
    let python = Path::new(&venv).join("bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import drgn"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "drgn is required: {} cannot import drgn (run scripts/install-test-tools.sh)",
        python.display()
    );
    python
}

/// What drgn reads for each pfn of `pfns` in the ELF file `elf`: `Some(sha256)` or `None` (not readable).
fn drgn_pages(elf: &Path, pfns: &[u64]) -> Vec<Option<String>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/drgn_pages.py");
    let mut child = Command::new(drgn_python())
        .arg(&script)
        .arg(elf)
        .arg(PAGE_SIZE.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input: String = pfns.iter().map(|p| format!("{p}\n")).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && text.starts_with("OPEN"),
        "drgn cannot open {}: {}",
        elf.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), pfns.len());
    lines
        .iter()
        .zip(pfns)
        .map(|(line, pfn)| {
            let mut fields = line.split(' ');
            assert_eq!(fields.next(), Some(pfn.to_string().as_str()));
            match fields.next() {
                Some("ERR") => None,
                Some(hash) => Some(hash.to_string()),
                None => panic!("bad drgn line {line:?}"),
            }
        })
        .collect()
}

fn kdump_flat(args: &[&std::ffi::OsStr]) {
    assert_cmd::Command::cargo_bin("kdump-flat")
        .unwrap()
        .args(args)
        .assert()
        .success();
}

fn to_elf(inputs: &[&Path], out: &Path, extra: &[&str]) {
    let mut args: Vec<&std::ffi::OsStr> = vec!["to-elf".as_ref()];
    args.extend(inputs.iter().map(|p| p.as_os_str()));
    args.push(out.as_os_str());
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    kdump_flat(&args);
}

/// Every pfn of `dump` in memory, and what `kdump-flat read --zero-excluded` gives for it (the crate's
/// reader): the page's sha256, zeros for an excluded page.
fn reader_pages(dump: &KdumpFile<&[u8]>) -> Vec<(u64, String, bool)> {
    let zero = sha256_hex(&vec![0u8; PAGE_SIZE as usize]);
    (0..dump.max_pfn())
        .filter_map(|pfn| match dump.read_page(pfn).unwrap() {
            PageContent::Data(data) => Some((pfn, sha256_hex(&data), false)),
            PageContent::Excluded => Some((pfn, zero.clone(), true)),
            PageContent::NotInMemory => None,
        })
        .collect()
}

/// drgn reads, from `elf`, every page of `dump` in memory as the crate's reader reads it from the kdump
/// file: the data of a dumped page, zeros for an excluded one. Returns (dumped, excluded) page counts.
fn assert_drgn_reads_like_the_reader(kdump: &[u8], elf: &Path) -> (u64, u64) {
    let dump = KdumpFile::open(kdump).unwrap();
    let expected = reader_pages(&dump);
    let pfns: Vec<u64> = expected.iter().map(|e| e.0).collect();
    let got = drgn_pages(elf, &pfns);
    let mut counts = (0, 0);
    for ((pfn, want, excluded), got) in expected.iter().zip(got) {
        assert_eq!(
            got.as_deref(),
            Some(want.as_str()),
            "pfn {pfn:#x} (excluded: {excluded})"
        );
        if *excluded {
            counts.1 += 1;
        } else {
            counts.0 += 1;
        }
    }
    counts
}

/// `readelf -l -n FILE`: exit 0, nothing on standard error, the notes listed.
fn assert_readelf_is_silent(path: &Path) {
    let out = Command::new("readelf")
        .arg("-l")
        .arg("-n")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "readelf fails on {}", path.display());
    assert!(
        out.stderr.is_empty(),
        "readelf warns on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NOTE") && text.contains("LOAD"), "{text}");
}

#[test]
fn readelf_reads_every_output_without_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    to_elf(
        &[&corpus("fw-q10.kdump-raw-zlib")],
        &d.join("q10.elf"),
        &["--blocks", FW_BLOCKS],
    );
    to_elf(
        &[&corpus("fw-q72.kdump-zlib.flat")],
        &d.join("q72.elf"),
        &[],
    );
    to_elf(
        &[&corpus("fw-mdf-split-d1.1"), &corpus("fw-mdf-split-d1.2")],
        &d.join("split.elf"),
        &[],
    );
    for name in ["q10.elf", "q72.elf", "split.elf"] {
        assert_readelf_is_silent(&d.join(name));
    }
    // Model dumps of every machine (32/64-bit, both byte orders), through to-elf.
    let mut machines = std::collections::HashSet::new();
    for seed in 0..40 {
        let layout = layout_from_seed(seed, SizeClass::Small);
        if layout.file_count() > 1 || !machines.insert(layout.machine) {
            continue;
        }
        let raw = d.join(format!("m{seed}.raw"));
        let mut sink = RawSink::in_memory();
        write_layout(&layout, &mut sink).unwrap();
        std::fs::write(&raw, sink.into_bytes()).unwrap();
        let elf = d.join(format!("m{seed}.elf"));
        to_elf(&[&raw], &elf, &[]);
        assert_readelf_is_silent(&elf);
    }
    assert!(machines.len() >= 6, "{machines:?}");
}

/// A booted guest's VMCOREINFO (makedumpfile's split file of corpus/real keeps it): drgn refuses dumps
/// without one that names swapper_pg_dir.
fn real_vmcoreinfo() -> String {
    let bytes = read_corpus("mdf-split-d31.2");
    let dump = KdumpFile::open(&bytes[..]).unwrap();
    dump.vmcoreinfo().unwrap().text.clone()
}

/// An x86-64 makedumpfile layout with VMCOREINFO whose dump level leaves out runs of 3 and of 300 pages
/// (kept as zeros in the file, and past p_filesz), with data, zero and free pages around them.
fn drgn_layout() -> Layout {
    let mut layout = layout_from_seed(26, SizeClass::Small);
    layout.writer = WriterKind::Makedumpfile;
    layout.machine = Machine::X86_64;
    layout.dump_level = 16; // free pages left out
    layout.notes.vmcoreinfo = Some(real_vmcoreinfo());
    layout.notes.cpus = 1;
    layout.notes.prstatus_size = 336;
    layout.eraseinfo = None;
    layout.mode = Default::default();
    // A plain makedumpfile file: no other writer's layout features (the seed may have drawn some).
    layout.deviations = Default::default();
    let run = |count, content, class| PageRun {
        count,
        content,
        class,
    };
    let data = Content::Random { seed: 7 };
    layout.blocks = vec![kdump_flat::model::MemoryBlock {
        start_pfn: 0x100,
        runs: vec![
            run(5, data, PageClass::Kernel),
            run(3, data, PageClass::Free),
            run(2, Content::Zero, PageClass::Kernel),
            run(300, data, PageClass::Free),
            run(4, data, PageClass::User),
            run(2, data, PageClass::Free),
        ],
        short_tail: 0,
    }];
    layout.validate().unwrap();
    layout
}

#[test]
fn drgn_reads_the_same_pages_as_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let layout = drgn_layout();
    let mut sink = RawSink::in_memory();
    write_layout(&layout, &mut sink).unwrap();
    let kdump = sink.into_bytes();
    let raw = dir.path().join("model.raw");
    std::fs::write(&raw, &kdump).unwrap();
    let elf = dir.path().join("model.elf");
    to_elf(&[&raw], &elf, &[]);
    let parsed = kdump_flat::elf::ElfDump::parse(&std::fs::read(&elf).unwrap()[..]).unwrap();
    // makedumpfile -E's cut: the 300 free pages end the first PT_LOAD, the 2 at the end are past p_filesz.
    let segments: Vec<(u64, u64, u64)> = parsed
        .blocks
        .iter()
        .map(|b| {
            (
                b.phys_addr / PAGE_SIZE,
                b.mem_size / PAGE_SIZE,
                b.file_size / PAGE_SIZE,
            )
        })
        .collect();
    assert_eq!(segments, [(0x100, 310, 10), (0x100 + 310, 6, 4)]);
    let (dumped, excluded) = assert_drgn_reads_like_the_reader(&kdump, &elf);
    assert_eq!((dumped, excluded), (11, 305));
}

// The booted-guest tests: KDUMP_REAL_DIR=DIR cargo test --test all -- --ignored real_to_elf::

fn generated(name: &str) -> PathBuf {
    let dir = std::env::var_os("KDUMP_REAL_DIR")
        .map(PathBuf::from)
        .expect("set KDUMP_REAL_DIR to a directory made by scripts/make-real-dumps.sh DIR kernel");
    dir.join(name)
}

#[test]
#[ignore = "needs KDUMP_REAL_DIR (scripts/make-real-dumps.sh DIR kernel)"]
fn booted_guests_qemu_kdump_becomes_qemus_elf() {
    let dir = tempfile::tempdir().unwrap();
    for (input, elf) in [
        ("lk.kdump-zlib.flat", "lk.elf"),
        ("q10-lk.kdump-zlib.flat", "q10-lk.elf"),
        ("q10-lk.kdump-raw-zlib", "q10-lk.elf"),
    ] {
        let out = dir.path().join(format!("{input}.elf"));
        to_elf(&[&generated(input)], &out, &[]);
        assert!(
            std::fs::read(&out).unwrap() == std::fs::read(generated(elf)).unwrap(),
            "to-elf {input} differs from QEMU's {elf}"
        );
    }
}

#[test]
#[ignore = "needs KDUMP_REAL_DIR (scripts/make-real-dumps.sh DIR kernel)"]
fn drgn_reads_booted_guest_elves_like_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    for (input, dumped, excluded) in [
        ("mdf-lzo-d31", 15092, 9452),
        ("lk.kdump-zlib.flat", 28704, 0),
    ] {
        let out = dir.path().join(format!("{input}.elf"));
        to_elf(&[&generated(input)], &out, &[]);
        let kdump = if input.ends_with(".flat") {
            makedumpfile_reassemble(&generated(input))
        } else {
            std::fs::read(generated(input)).unwrap()
        };
        let counts = assert_drgn_reads_like_the_reader(&kdump, &out);
        assert_eq!(counts, (dumped, excluded), "{input}");
    }
}

/// makedumpfile <= 1.7.x reads an ELF vmcore only with its program headers at offset 64 (QEMU's layout
/// puts the section headers there): the same move as scripts/make-real-dumps.sh's move_program_headers.
fn move_program_headers(elf: &Path, fixed: &Path) {
    let mut bytes = std::fs::read(elf).unwrap();
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as usize;
    let phoff = u64::from_le_bytes(bytes[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(&bytes, 0x36), u16_at(&bytes, 0x38));
    let table = bytes[phoff..phoff + phentsize * phnum].to_vec();
    bytes[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
    bytes[0x28..0x30].copy_from_slice(&0u64.to_le_bytes());
    bytes[0x34..0x36].copy_from_slice(&64u16.to_le_bytes());
    bytes[0x3a..0x40].fill(0);
    bytes[64..64 + table.len()].copy_from_slice(&table);
    bytes[64 + table.len()..phoff + table.len()].fill(0);
    std::fs::write(fixed, bytes).unwrap();
}

fn makedumpfile_d31(elf: &Path, out: &Path) -> Vec<u8> {
    let fixed = elf.with_extension("fixed");
    move_program_headers(elf, &fixed);
    let mut command = Command::new("makedumpfile");
    command.args(["-d", "31", "-l"]).arg(&fixed).arg(out);
    run_with_limit(command, None, std::time::Duration::from_secs(300));
    std::fs::read(out).unwrap()
}

#[test]
#[ignore = "needs KDUMP_REAL_DIR (scripts/make-real-dumps.sh DIR kernel)"]
fn makedumpfile_d31_of_our_elf() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Of QEMU's kdump-zlib: our ELF is QEMU's, so makedumpfile -d 31 gives the same file.
    to_elf(&[&generated("lk.kdump-zlib.flat")], &d.join("lk.elf"), &[]);
    std::fs::copy(generated("lk.elf"), d.join("qemu.elf")).unwrap();
    let ours = makedumpfile_d31(&d.join("lk.elf"), &d.join("ours-d31"));
    let qemus = makedumpfile_d31(&d.join("qemu.elf"), &d.join("qemu-d31"));
    assert!(ours == qemus);
    // Of makedumpfile's own -d 31 dump: the same pages again; only max_mapnr differs (0x6000, the last page
    // in memory, where the original kept 0x8000 from the kernel's memory sections), at the header's
    // max_mapnr (440) and the sub-header's max_mapnr_64 (4096 + 96).
    to_elf(&[&generated("mdf-lzo-d31")], &d.join("d31.elf"), &[]);
    let again = makedumpfile_d31(&d.join("d31.elf"), &d.join("again-d31"));
    let original = std::fs::read(generated("mdf-lzo-d31")).unwrap();
    assert_eq!(again.len(), original.len());
    let differ: Vec<usize> = (0..again.len())
        .filter(|&i| again[i] != original[i])
        .collect();
    assert_eq!(differ, [441, 4096 + 97]);
    assert_eq!((again[441], original[441]), (0x60, 0x80));
}
