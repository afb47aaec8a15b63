//! The ELF reader on QEMU's real ELF dumps (corpus/real/fw-*.elf.gz), and the guest memory they hold
//! against what libkdumpfile reads from QEMU's and makedumpfile's kdump files of the same guest state.
//! Needs makedumpfile and python3-libkdumpfile (scripts/install-test-tools.sh); fails without them.

use crate::support::real::*;

use kdump_flat::elf::{guest_phys_read, ElfByteOrder, ElfClass, ElfDump, ElfError, EM_386};

/// The program headers readelf (binutils 2.40) prints for both firmware ELFs: (p_paddr, p_offset, p_filesz).
const FW_BLOCKS: [(u64, u64, u64); 5] = [
    (0x0, 0x480, 0xa0000),
    (0xc0000, 0xa0480, 0x20000),
    (0xe0000, 0xc0480, 0x20000),
    (0x100000, 0xe0480, 0xf00000),
    (0xfffc0000, 0xfe0480, 0x40000),
];

#[test]
fn firmware_elf_headers_are_what_readelf_shows() {
    for name in ["fw-q72.elf.gz", "fw-q10.elf.gz"] {
        let elf = gunzip_corpus(name);
        let dump = ElfDump::parse(&elf[..]).unwrap();
        assert_eq!(dump.class, ElfClass::Elf64, "{name}");
        assert_eq!(dump.byte_order, ElfByteOrder::Little);
        // Never started: the CPU is in real mode, QEMU says EM_386 but keeps ELF64 since the ROM ends at 4 GiB.
        assert_eq!(dump.machine, EM_386);
        // QEMU's layout: section headers at 64, program headers after them.
        assert_eq!(dump.section_header_offset, 64);
        assert_eq!(dump.program_header_offset, 192);
        assert_eq!(dump.program_header_count, 6);
        let blocks: Vec<(u64, u64, u64)> = dump
            .blocks
            .iter()
            .map(|b| (b.phys_addr, b.file_offset, b.file_size))
            .collect();
        assert_eq!(blocks, FW_BLOCKS);
        assert!(dump.blocks.iter().all(|b| b.mem_size == b.file_size));
        // readelf -n: CORE NT_PRSTATUS 0x90 bytes (i386 prstatus), QEMU note 0x1b8 bytes; PT_NOTE 0x270 bytes,
        // which is also size_note in QEMU's kdump files of the same state.
        let notes: Vec<(&[u8], u32, usize)> = dump
            .notes
            .iter()
            .map(|n| (n.name.as_slice(), n.note_type, n.desc.len()))
            .collect();
        assert_eq!(notes, [(&b"CORE"[..], 1, 0x90), (&b"QEMU"[..], 0, 0x1b8)]);
        assert_eq!(dump.note_bytes.len(), 0x270);
        assert_eq!(dump.cpu_count(), 1);
        assert!(dump.vmcoreinfo().is_none());
        dump.check_blocks_disjoint().unwrap();
        assert_eq!(dump.phys_end(), 1 << 32);
    }
}

/// Asserts that every page libkdumpfile reads equals the ELF dump's guest memory, and that libkdumpfile's
/// page map is exactly the set of pages the ELF's PT_LOADs cover.
fn assert_pages_equal_elf(what: &str, report: &OracleReport, elf: &[u8]) {
    let dump = ElfDump::parse(elf).unwrap();
    assert_eq!(report.page_size, PAGE_SIZE, "{what}");
    let elf_runs: Vec<(u64, u64)> = dump
        .blocks
        .iter()
        .map(|b| (b.phys_addr / PAGE_SIZE, b.phys_end().div_ceil(PAGE_SIZE)))
        .fold(Vec::new(), |mut runs, (start, end)| {
            match runs.last_mut() {
                Some((_, last_end)) if *last_end == start => *last_end = end,
                _ => runs.push((start, end)),
            }
            runs
        });
    assert_eq!(
        report.pagemap, elf_runs,
        "{what}: libkdumpfile's page map vs the ELF's PT_LOADs"
    );
    let mut page = vec![0u8; PAGE_SIZE as usize];
    let mut compared = 0;
    for (pfn, sha) in &report.pages {
        let sha = sha
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: libkdumpfile says pfn {pfn:#x} is excluded"));
        guest_phys_read(&dump, elf, pfn * PAGE_SIZE, &mut page).unwrap();
        assert_eq!(&sha256_hex(&page), sha, "{what}: pfn {pfn:#x}");
        compared += 1;
    }
    assert_eq!(compared, 4128, "{what}: pages compared");
    for (pfn, sha) in &report.outside {
        assert_eq!(sha, &None, "{what}: pfn {pfn:#x} outside the page map");
        let err = guest_phys_read(&dump, elf, pfn * PAGE_SIZE, &mut page).unwrap_err();
        assert!(matches!(err, ElfError::NotInDump { .. }), "{err}");
    }
}

#[test]
fn qemu10_raw_kdump_pages_equal_its_elf_memory() {
    let report = libkdumpfile_pages(&[&corpus("fw-q10.kdump-raw-zlib")]);
    assert_eq!(report.format.as_deref(), Some("diskdump"));
    assert_eq!(report.max_pfn, 0x100000);
    assert_pages_equal_elf(
        "fw-q10.kdump-raw-zlib",
        &report,
        &gunzip_corpus("fw-q10.elf.gz"),
    );
}

#[test]
fn qemu72_flattened_kdump_pages_equal_its_elf_memory() {
    // libkdumpfile 0.5.1 cannot read flattened files: makedumpfile -R first.
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("fw-q72.raw");
    std::fs::write(
        &raw,
        makedumpfile_reassemble(&corpus("fw-q72.kdump-zlib.flat")),
    )
    .unwrap();
    let report = libkdumpfile_pages(&[&raw]);
    assert_pages_equal_elf(
        "fw-q72.kdump-zlib.flat",
        &report,
        &gunzip_corpus("fw-q72.elf.gz"),
    );
}

#[test]
fn makedumpfile_outputs_equal_the_elf_memory_they_were_made_from() {
    let elf = gunzip_corpus("fw-q72.elf.gz");
    let raw = libkdumpfile_pages(&[&corpus("fw-mdf-lzo-d1")]);
    assert_pages_equal_elf("fw-mdf-lzo-d1", &raw, &elf);
    let split = libkdumpfile_pages(&[&corpus("fw-mdf-split-d1.1"), &corpus("fw-mdf-split-d1.2")]);
    assert_pages_equal_elf("fw-mdf-split-d1.{1,2}", &split, &elf);
    let dir = tempfile::tempdir().unwrap();
    for flat in ["fw-mdf-lzo-d1.flat", "fw-mdf-zstd-d1.flat"] {
        let raw = dir.path().join(flat);
        std::fs::write(&raw, makedumpfile_reassemble(&corpus(flat))).unwrap();
        assert_pages_equal_elf(flat, &libkdumpfile_pages(&[&raw]), &elf);
    }
}

#[test]
fn makedumpfile_flattened_elf_holds_the_same_memory() {
    // makedumpfile -F -E -d 1: an ELF whose all-zero blocks have p_filesz 0 < p_memsz.
    let qemu = gunzip_corpus("fw-q72.elf.gz");
    let qemu_dump = ElfDump::parse(&qemu[..]).unwrap();
    let mdf = makedumpfile_reassemble(&corpus("fw-mdf-elf-d1.flat"));
    let mdf_dump = ElfDump::parse(&mdf[..]).unwrap();
    assert_eq!(mdf_dump.program_header_offset, 64);
    assert_eq!(mdf_dump.note_bytes, qemu_dump.note_bytes);
    let ranges = |d: &ElfDump| -> Vec<(u64, u64)> {
        d.blocks.iter().map(|b| (b.phys_addr, b.mem_size)).collect()
    };
    assert_eq!(ranges(&mdf_dump), ranges(&qemu_dump));
    assert!(mdf_dump.blocks.iter().any(|b| b.file_size < b.mem_size));
    for block in &qemu_dump.blocks {
        let mut a = vec![0u8; block.mem_size as usize];
        let mut b = vec![0xffu8; block.mem_size as usize];
        guest_phys_read(&qemu_dump, &qemu[..], block.phys_addr, &mut a).unwrap();
        guest_phys_read(&mdf_dump, &mdf[..], block.phys_addr, &mut b).unwrap();
        assert!(a == b, "block at {:#x} differs", block.phys_addr);
    }
}

#[test]
fn the_comparison_notices_another_guest_state() {
    // QEMU 7.2 and QEMU 10 ship different SeaBIOS builds: QEMU 10's pages must not match QEMU 7.2's ELF.
    let report = libkdumpfile_pages(&[&corpus("fw-q10.kdump-raw-zlib")]);
    let other = gunzip_corpus("fw-q72.elf.gz");
    let outcome =
        std::panic::catch_unwind(|| assert_pages_equal_elf("q10 vs q72", &report, &other));
    assert!(outcome.is_err());
}
