//! The model's QEMU write sequence against real QEMU output: the memory and notes of a QEMU ELF dump fed
//! into `write_qemu_kdump` must give QEMU's own kdump file of the same stopped guest, byte for byte.
//! The inputs are the committed real dumps of corpus/real (see its README for how they were made):
//! QEMU 7.2 (`kdump-zlib`, flattened) and QEMU 10 (`kdump-zlib` and `kdump-raw-zlib`).
//!
//! Also the worked example of docs/FORMATS.md §3 (16 MiB guest, 1 vCPU, N = 624).

use kdump_flat::compress::Compression;
use kdump_flat::model::{
    qemu_class_is_64bit, write_qemu_kdump, Endian, GuestBlock, QemuDumpOptions,
};
use kdump_flat::sink::{DumpSink, FlatSink, RawSink, RecordingSink, TeeSink};

use crate::support::elf_gz::{read_elf, ElfDump};

/// QEMU's options for the guest of `elf`: 64-bit by QEMU's rule (the firmware guests are `EM_386`, their
/// BIOS ROM ends at 4 GiB: 64-bit, as the real files' 464-byte headers say).
fn options(elf: &ElfDump, uts_machine: &str) -> QemuDumpOptions {
    QemuDumpOptions {
        is_64bit: qemu_class_is_64bit(elf.machine, elf.memory_end()),
        endian: Endian::Little,
        page_size: 4096,
        compression: Compression::Zlib,
        nr_cpus: 1,
        phys_base: 0,
        uts_machine: uts_machine.into(),
    }
}

/// Writes the ELF's memory and notes with the model's QEMU sequence: (flattened, raw, writes).
fn model_dump(elf: &ElfDump, uts_machine: &str) -> (Vec<u8>, Vec<u8>, Vec<(u64, u64)>) {
    let blocks = elf.blocks();
    let mut sink = TeeSink(
        TeeSink(FlatSink::new(Vec::new()), RawSink::in_memory()),
        RecordingSink::default(),
    );
    write_qemu_kdump(
        &blocks,
        &elf.notes,
        &options(elf, uts_machine),
        &mut sink as &mut dyn DumpSink,
    )
    .unwrap();
    let TeeSink(TeeSink(flat, raw), rec) = sink;
    (flat.into_inner(), raw.into_bytes(), rec.writes)
}

fn assert_same(ours: &[u8], theirs: &[u8], what: &str) {
    if let Some(at) = ours.iter().zip(theirs).position(|(a, b)| a != b) {
        panic!("{what}: first difference at byte {at:#x}");
    }
    assert_eq!(ours.len(), theirs.len(), "{what}: length");
}

#[test]
fn qemu_7_2_kdump_zlib_is_reproduced_byte_for_byte() {
    let elf = read_elf("corpus/real/fw-q72.elf.gz");
    assert_eq!(elf.notes.len(), 624);
    let (flat, _raw, writes) = model_dump(&elf, "x86_64");
    let real = std::fs::read("corpus/real/fw-q72.kdump-zlib.flat").unwrap();
    assert_same(&flat, &real, "flattened vs QEMU 7.2 kdump-zlib");
    assert_eq!(writes.len(), 88);
}

#[test]
fn qemu_10_kdump_zlib_and_kdump_raw_zlib_are_reproduced_byte_for_byte() {
    let elf = read_elf("corpus/real/fw-q10.elf.gz");
    let (flat, raw, _) = model_dump(&elf, "Unknown");
    let real_flat = std::fs::read("corpus/real/fw-q10.kdump-zlib.flat").unwrap();
    let real_raw = std::fs::read("corpus/real/fw-q10.kdump-raw-zlib").unwrap();
    assert_same(&flat, &real_flat, "flattened vs QEMU 10 kdump-zlib");
    assert_same(&raw, &real_raw, "raw vs QEMU 10 kdump-raw-zlib");
}

/// docs/FORMATS.md §3's worked example: q35, 16 MiB, 1 vCPU, N = 624 → bitmaps at 0x2000 and 0x22000,
/// P = 0x42000, D = 4160, Q = 370176, 3 header records and 64 bitmap records. (Its 22 page records depend
/// on the guest's memory contents; the byte-identity tests above cover page records of a real guest.)
#[test]
fn formats_md_worked_example() {
    // q35 with 16 MiB: all of RAM in one block plus the 256 KiB BIOS ROM below 4 GiB.
    let ram: Vec<u8> = (0..16u64 << 20)
        .map(|i| (i % 251) as u8 * ((i >> 14) % 3 == 0) as u8)
        .collect();
    let rom = vec![0x90u8; 256 << 10];
    let blocks = [
        GuestBlock {
            start: 0,
            len: ram.len() as u64,
            data: &ram,
            data_offset: 0,
        },
        GuestBlock {
            start: 0xfffc_0000,
            len: rom.len() as u64,
            data: &rom,
            data_offset: 0,
        },
    ];
    let notes = vec![0u8; 624];
    let mut rec = RecordingSink::default();
    let options = QemuDumpOptions {
        is_64bit: true,
        ..options(&read_elf("corpus/real/fw-q72.elf.gz"), "x86_64")
    };
    let summary = write_qemu_kdump(&blocks, &notes, &options, &mut rec).unwrap();
    assert_eq!(summary.max_mapnr, 0x100000);
    assert_eq!(summary.dumped_pages, 4160);
    assert_eq!(summary.descriptors_offset, 0x42000);
    assert_eq!(summary.data_offset, 370176);
    assert_eq!(&rec.writes[..3], &[(0, 464), (0x1000, 104), (0x1068, 624)]);
    let bitmap: Vec<_> = rec.writes[3..67].to_vec();
    for (i, pair) in bitmap.chunks(2).enumerate() {
        let chunk = i as u64 * 0x1000;
        assert_eq!(pair, &[(0x2000 + chunk, 4096), (0x22000 + chunk, 4096)]);
    }
    let descriptors: Vec<_> = rec.writes[67..]
        .iter()
        .filter(|w| w.0 < summary.data_offset)
        .collect();
    // 4160 descriptors of 24 bytes, flushed 682 at a time (16368 bytes).
    assert_eq!(descriptors.len(), 7);
    assert!(descriptors[..6].iter().all(|w| w.1 == 16368));
    assert_eq!(descriptors[6].1, 4160 * 24 - 6 * 16368);
    assert!(rec.writes[67..]
        .iter()
        .filter(|w| w.0 >= summary.data_offset)
        .all(|w| w.1 <= 4 * 4096));
}
