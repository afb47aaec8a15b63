//! The model's write sequences against real dumps of a booted Linux guest (VMCOREINFO present, dump level
//! 31 excluding pages): too big to commit, made by `scripts/make-real-dumps.sh OUT kernel`
//! (which downloads a Debian kernel); `scripts/test-real.sh` runs this test with the others. Run with `KDUMP_REAL_DIR=OUT cargo test --test model_kernel_oracle
//! -- --ignored`; the directory must hold `lk.elf`, `lk.fixed.elf`, `lk.kdump-zlib.flat` (QEMU 7.2) and
//! `mdf-lzo-d31` (makedumpfile 1.7.2 `-d 31 -l`).

use kdump_flat::compress::Compression;
use kdump_flat::model::encode::StructAbi;
use kdump_flat::model::makedumpfile::{write_makedumpfile_kdump_from, MakedumpfileOptions};
use kdump_flat::model::notes::{count_prstatus, vmcoreinfo_phys_base};
use kdump_flat::model::{write_qemu_kdump, Endian, GuestBlock, QemuDumpOptions};
use kdump_flat::sink::{DumpSink, FlatSink, RawSink};

fn le(b: &[u8], at: usize, n: usize) -> u64 {
    let mut v = [0u8; 8];
    v[..n].copy_from_slice(&b[at..at + n]);
    u64::from_le_bytes(v)
}

fn dir() -> std::path::PathBuf {
    std::env::var_os("KDUMP_REAL_DIR")
        .expect("set KDUMP_REAL_DIR to the output directory of scripts/make-real-dumps.sh (kernel part)")
        .into()
}

/// PT_LOADs (paddr, offset, size) and the PT_NOTE bytes, by the crate's ELF reader.
fn read_elf(bytes: &[u8]) -> (Vec<(u64, u64, u64)>, Vec<u8>) {
    let parsed = kdump_flat::elf::ElfDump::parse(bytes).unwrap();
    let loads = parsed
        .blocks
        .iter()
        .map(|b| (b.phys_addr, b.file_offset, b.file_size))
        .collect();
    (loads, parsed.note_bytes)
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

#[test]
#[ignore = "needs the booted-guest dumps of scripts/make-real-dumps.sh (KDUMP_REAL_DIR)"]
fn qemu_kdump_of_a_booted_guest_with_vmcoreinfo_is_reproduced() {
    let elf = std::fs::read(dir().join("lk.elf")).unwrap();
    let (loads, notes) = read_elf(&elf);
    let blocks: Vec<GuestBlock<'_>> = loads
        .iter()
        .map(|&(start, offset, len)| GuestBlock {
            start,
            len,
            data: &elf,
            data_offset: offset,
        })
        .collect();
    let options = QemuDumpOptions {
        is_64bit: true,
        endian: Endian::Little,
        page_size: 4096,
        compression: Compression::Zlib,
        nr_cpus: count_prstatus(&notes, Endian::Little),
        phys_base: vmcoreinfo_phys_base(&notes, Endian::Little, "phys_base").unwrap_or(0),
        uts_machine: "x86_64".into(),
    };
    let mut sink = FlatSink::new(Vec::new());
    write_qemu_kdump(&blocks, &notes, &options, &mut sink as &mut dyn DumpSink).unwrap();
    let real = std::fs::read(dir().join("lk.kdump-zlib.flat")).unwrap();
    assert_eq!(first_difference(&sink.into_inner(), &real), None);
}

#[test]
#[ignore = "needs the booted-guest dumps of scripts/make-real-dumps.sh (KDUMP_REAL_DIR)"]
fn makedumpfile_level_31_of_a_booted_guest_is_reproduced() {
    let real = std::fs::read(dir().join("mdf-lzo-d31")).unwrap();
    let elf = std::fs::read(dir().join("lk.fixed.elf")).unwrap();
    let (loads, notes) = read_elf(&elf);
    // What makedumpfile decided from the kernel's data structures, taken from its output: max_mapnr
    // (from the kernel's memory model), the pages it left out (bitmap 2), and the header's values.
    let ps = 4096u64;
    let sub_hdr_blocks = le(&real, 432, 4);
    let bitmap_blocks = le(&real, 436, 4);
    let max_mapnr = le(&real, 4096 + 96, 8);
    let bitmap2 = ((1 + sub_hdr_blocks + bitmap_blocks / 2) * ps) as usize;
    let is_dumped = |pfn: u64| real[bitmap2 + (pfn / 8) as usize] & (1 << (pfn % 8)) != 0;
    let blocks: Vec<GuestBlock<'_>> = loads
        .iter()
        .filter(|&&(start, _, _)| start / ps < max_mapnr)
        .map(|&(start, offset, len)| GuestBlock {
            start,
            len: len.min(max_mapnr * ps - start),
            data: &elf,
            data_offset: offset,
        })
        .collect();
    let uts = |i: usize| {
        let field = &real[12 + i * 65..12 + i * 65 + 65];
        String::from_utf8_lossy(&field[..field.iter().position(|&b| b == 0).unwrap_or(65)])
            .into_owned()
    };
    let options = MakedumpfileOptions {
        abi: StructAbi::Lp64,
        endian: Endian::Little,
        page_size: ps,
        compression: Compression::Lzo,
        dump_level: 31,
        nr_cpus: le(&real, 460, 4) as u32,
        phys_base: le(&real, 4096, 8),
        utsname: [uts(0), uts(1), uts(2), uts(3), uts(4), uts(5)],
        timestamp: (le(&real, 408, 8), le(&real, 416, 8)),
        eraseinfo: None,
        max_mapnr: Some(max_mapnr),
        cyclic_buffer: None,
        split: None,
        num_threads: 0,
    };
    let mut sink = RawSink::in_memory();
    write_makedumpfile_kdump_from(
        &blocks,
        &is_dumped,
        &notes,
        &options,
        &mut sink as &mut dyn DumpSink,
    )
    .unwrap();
    assert_eq!(first_difference(&sink.into_bytes(), &real), None);
}
