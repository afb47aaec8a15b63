//! The model's makedumpfile write sequence against real makedumpfile output: the memory and notes of the
//! QEMU ELF dump that makedumpfile read (corpus/real/fw-q72.elf.gz) fed into
//! `write_makedumpfile_kdump_from` with the same options must give makedumpfile's own files.

use std::io::Read;

use kdump_flat::compress::Compression;
use kdump_flat::model::encode::StructAbi;
use kdump_flat::model::makedumpfile::{write_makedumpfile_kdump_from, MakedumpfileOptions};
use kdump_flat::model::{Endian, GuestBlock};
use kdump_flat::sink::{DumpSink, FlatSink, RawSink, RecordingSink, TeeSink};

struct ElfDump {
    bytes: Vec<u8>,
    loads: Vec<(u64, u64, u64)>,
    notes: Vec<u8>,
}

/// A QEMU ELF dump (gunzipped) parsed by the crate's ELF reader.
fn read_elf(gz_path: &str) -> ElfDump {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(gz_path).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    let parsed = kdump_flat::elf::ElfDump::parse(bytes.as_slice()).unwrap();
    let loads = parsed
        .blocks
        .iter()
        .map(|b| (b.phys_addr, b.file_offset, b.file_size))
        .collect();
    ElfDump {
        bytes,
        loads,
        notes: parsed.note_bytes,
    }
}

fn write(elf: &ElfDump, compression: Compression) -> (Vec<u8>, Vec<u8>, Vec<(u64, u64)>) {
    let blocks: Vec<GuestBlock<'_>> = elf
        .loads
        .iter()
        .map(|&(paddr, offset, size)| GuestBlock {
            start: paddr,
            len: size,
            data: &elf.bytes,
            data_offset: offset,
        })
        .collect();
    let options = MakedumpfileOptions {
        abi: StructAbi::Lp64,
        endian: Endian::Little,
        page_size: 4096,
        compression,
        dump_level: 1,
        nr_cpus: 1,
        phys_base: 0,
        utsname: Default::default(),
        timestamp: (0, 0),
        eraseinfo: None,
        max_mapnr: None,
    };
    let mut sink = TeeSink(
        TeeSink(FlatSink::new(Vec::new()), RawSink::in_memory()),
        RecordingSink::default(),
    );
    write_makedumpfile_kdump_from(
        &blocks,
        &|_| true,
        &elf.notes,
        &options,
        &mut sink as &mut dyn DumpSink,
    )
    .unwrap();
    let TeeSink(TeeSink(flat, raw), rec) = sink;
    (flat.into_inner(), raw.into_bytes(), rec.writes)
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

#[test]
fn makedumpfile_1_7_6_zstd_flattened_is_reproduced_byte_for_byte() {
    let elf = read_elf("corpus/real/fw-q72.elf.gz");
    let (flat, _, writes) = write(&elf, Compression::Zstd);
    let real = std::fs::read("corpus/real/fw-mdf-zstd-d1.flat").unwrap();
    assert_eq!(
        first_difference(&flat, &real),
        None,
        "vs makedumpfile -F -d 1 -z"
    );
    assert_eq!(writes.len(), 76);
}

#[test]
fn makedumpfile_1_7_2_lzo_raw_and_flattened_are_reproduced_byte_for_byte() {
    let elf = read_elf("corpus/real/fw-q72.elf.gz");
    let (flat, raw, _) = write(&elf, Compression::Lzo);
    let real_raw = std::fs::read("corpus/real/fw-mdf-lzo-d1").unwrap();
    let real_flat = std::fs::read("corpus/real/fw-mdf-lzo-d1.flat").unwrap();
    assert_eq!(
        first_difference(&raw, &real_raw),
        None,
        "vs makedumpfile -d 1 -l"
    );
    assert_eq!(
        first_difference(&flat, &real_flat),
        None,
        "vs makedumpfile -F -d 1 -l"
    );
}
